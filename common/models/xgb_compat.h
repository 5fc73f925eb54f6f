/* xgb_compat.h -- XGBoost 2.x/3.x model files made readable by libxgboost 1.7 without a shift. */
#ifndef XQ_MODELS_XGB_COMPAT_H
#define XQ_MODELS_XGB_COMPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mem.h"

/**
 * XGBoost 2.0 and later write learner_model_param.base_score as a vector in a
 * string ("[6.4E-1]", one value per target or class); libxgboost 1.7 cannot
 * parse it and silently uses 0.5, which shifts every prediction. Rewrites
 * @p model (JSON or UBJSON bytes, in place) so the value is a plain number.
 * A vector whose values differ (multi:softprob from 3.x, multi-target models)
 * cannot be expressed for 1.7 and is refused.
 *
 * @returns XQ_OK (*changed says whether anything was rewritten), or XQ_EMODEL
 *          naming base_score and what to do.
 */
xq_err_t xq_xgb_fix_base_score(xq_buf_t *model, bool *changed, xq_error_t *err);

#endif /* XQ_MODELS_XGB_COMPAT_H */
