/* xgboost.h -- XGBoost models through libxgboost's C API: forward only, finite differences on
 * request. */
#ifndef XQ_MODELS_XGBOOST_H
#define XQ_MODELS_XGBOOST_H

#include "err.h"
#include "model.h"

/*
 * The model takes one input tensor, "features", of the booster's feature
 * count, and gives "prediction": one value per row (regression, binary
 * logistic) or one per class (multi:softprob). Trees have no gradients: a
 * method that needs them gets an error, unless @p fd_step > 0 asks for
 * central finite differences with that step (2 extra rows per feature).
 */

/** Loads the model at @p path (JSON, UBJSON or binary, by libxgboost's rules). */
xq_err_t xq_xgboost_load(const char *path, double fd_step, xq_model_t **out, xq_error_t *err);

#endif /* XQ_MODELS_XGBOOST_H */
