/* rowsched.h -- the row scheduler: runs' rows batched by model, kind and row shape, in segments. */
#ifndef XQ_ROWSCHED_H
#define XQ_ROWSCHED_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "layout.h"
#include "methods/run.h"
#include "rows.h"

/*
 * One batch of model rows shared by many runs: the in-process engine
 * (common/engine.c) and the worker (worker/wk_batch.c) both fill one with the
 * rows of every run that wants the same kind of rows (forward or gradient) of
 * a compatible shape for the same model, evaluate it in one go, and hand each
 * run its rows back. A *segment* records which rows are whose: the run, its
 * owner (a worker's job; the engine passes itself), the run's number in its
 * owner and the rows [first, first + cnt). An owner can be forgotten while
 * its rows are in flight (the worker drops a job on a rebalance or an
 * abort): its segments are skipped from then on and its runs and layouts are
 * never touched again.
 *
 * Plain data: the fields are read by the callers; change them only through
 * these functions. A batch owns its rows' buffers and its segments; the
 * model key, the layouts and the runs are borrowed.
 */

/** A run's rows in a batch. */
typedef struct xq_sched_seg {
    void *owner;               /* whose run it is; NULL once forgotten (xq_sched_batch_forget()) */
    xq_run_t *run;             /* borrowed; not touched once forgotten */
    const xq_layout_t *layout; /* the run's layout (borrowed; not touched once forgotten) */
    size_t index;              /* the run's number in its owner */
    size_t first, cnt;         /* its rows */
} xq_sched_seg_t;

typedef struct xq_sched_batch {
    const void *model; /* what evaluates the rows: only batches of one model mix (borrowed) */
    bool grad;         /* gradient rows */
    const xq_layout_t *shape; /* a live segment's layout, whose tensor names rows.names holds */
    size_t limit;             /* rows at most (>= 1) */
    xq_rows_t rows;
    xq_sched_seg_t *seg;
    size_t seg_cnt, seg_cap;
} xq_sched_batch_t;

void xq_sched_batch_init(xq_sched_batch_t *b);
void xq_sched_batch_fini(xq_sched_batch_t *b);

/**
 * Empties @p b for rows of @p model shaped like @p l with @p out_cnt outputs, gradient rows or
 * not, at most @p limit (0 counts as 1) of them. Buffers are kept (and reused without
 * allocation) when the shape is the one they had.
 */
void xq_sched_batch_reset(xq_sched_batch_t *b,
                          const void *model,
                          bool grad,
                          const xq_layout_t *l,
                          size_t out_cnt,
                          size_t limit);

/** true when rows of @p model, kind @p grad and layout @p l may join @p b (it has room). */
bool xq_sched_batch_takes(const xq_sched_batch_t *b,
                          const void *model,
                          bool grad,
                          const xq_layout_t *l);

/** true when @p b holds its limit of rows. */
static inline bool xq_sched_batch_full(const xq_sched_batch_t *b) {
    return b->rows.cnt >= b->limit;
}

/**
 * Lets @p run (not DONE, wanting @p b's kind of rows; number @p index of @p owner, which is not
 * NULL, with layout @p l) append its next rows to @p b, as many as there is room for and at least
 * one, and records them as a segment.
 *
 * @returns the rows appended (>= 1).
 */
size_t xq_sched_batch_plan(
    xq_sched_batch_t *b, void *owner, size_t index, xq_run_t *run, const xq_layout_t *l);

/**
 * Forgets every segment of @p owner: they are skipped from now on. If @p b's shape was one of
 * their layouts, a live segment's layout takes its place (rows.names then point into it).
 *
 * @returns the live segments left; with none, the batch is nobody's (free it or reset it).
 */
size_t xq_sched_batch_forget(xq_sched_batch_t *b, const void *owner);

/**
 * Copies the rows of live segment @p s of @p src to the end of @p dst (reset for the same
 * model, kind and shape) and records them there as a segment of the same run; @p src is not
 * changed. Used to send a shared batch's rows again run by run.
 *
 * @returns the rows copied.
 */
size_t xq_sched_batch_move(xq_sched_batch_t *dst, const xq_sched_batch_t *src, size_t s);

/** The distinct owners of @p b's live segments. */
size_t xq_sched_batch_owners(const xq_sched_batch_t *b);

/** After @p b was evaluated: every live segment's run reduces its rows. */
void xq_sched_batch_reduce(xq_sched_batch_t *b);

/** @p b could not be evaluated: every live segment's run fails with @p err. */
void xq_sched_batch_fail(xq_sched_batch_t *b, const xq_error_t *err);

/**
 * Rows per batch for rows of @p row_elems input elements: @p max_rows, but never over
 * @p max_elems elements in all (0: no bound), and at least one.
 */
size_t xq_sched_limit(size_t row_elems, size_t max_rows, size_t max_elems);

/**
 * One pass of the in-process engine over @p cnt runs (NULL entries are skipped) and their
 * layouts: the first run not DONE leads; @p b is reset for its kind and shape (limit from
 * xq_sched_limit() with @p max_rows and @p max_elems) and filled, in order from the lead, with the
 * rows of every run wanting the same kind of rows of a compatible layout until full. Segments
 * name @p owner and the run's position in @p runs.
 *
 * @returns the rows planned; 0 when every run is DONE.
 */
size_t xq_sched_fill(xq_sched_batch_t *b,
                     void *owner,
                     const void *model,
                     size_t out_cnt,
                     xq_run_t *const *runs,
                     xq_layout_t *const *layouts,
                     size_t cnt,
                     size_t max_rows,
                     size_t max_elems);

#endif /* XQ_ROWSCHED_H */
