/*
 * make_xgboost.c -- writes tests/data/models/xgb_stump.json: one depth-1 tree on
 * y = 10 if x0 > 0.5 else 0 with eta 1, lambda 0 and base score 0, so its
 * predictions are exactly 10 and 0. Build and run by hand (committed output):
 *   cc tests/models/make_xgboost.c -lxgboost -o /tmp/mk && /tmp/mk tests/data/models/xgb_stump.json
 */
#include <stdio.h>
#include <xgboost/c_api.h>

int main(int argc, char **argv) {
    static const char *const params[][2] = {
        {"max_depth", "1"},        {"eta", "1"},
        {"lambda", "0"},           {"base_score", "0"},
        {"min_child_weight", "0"}, {"tree_method", "exact"},
        {"nthread", "1"},          {"objective", "reg:squarederror"}};
    float X[8 * 3], y[8];
    DMatrixHandle d;
    BoosterHandle h;

    if (argc != 2)
        return 2;
    for (int i = 0; i < 8; i++) {
        X[i * 3] = (float)(i % 2);
        X[i * 3 + 1] = (float)i;
        X[i * 3 + 2] = (float)(7 - i) * 0.5f;
        y[i] = i % 2 ? 10.0f : 0.0f;
    }
    if (XGDMatrixCreateFromMat(X, 8, 3, -1e30f, &d) || XGDMatrixSetFloatInfo(d, "label", y, 8) ||
        XGBoosterCreate(&d, 1, &h))
        return 1;
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
        XGBoosterSetParam(h, params[i][0], params[i][1]);
    if (XGBoosterUpdateOneIter(h, 0, d) || XGBoosterSaveModel(h, argv[1]))
        return 1;
    XGBoosterFree(h);
    XGDMatrixFree(d);
    return 0;
}
