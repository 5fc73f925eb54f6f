/* rowsched.c -- the row scheduler shared by the in-process engine and the worker. */
#include "rowsched.h"

#include <string.h>

#include "log.h"
#include "mem.h"

void xq_sched_batch_init(xq_sched_batch_t *b) {
    memset(b, 0, sizeof(*b));
    xq_rows_init(&b->rows);
}

void xq_sched_batch_fini(xq_sched_batch_t *b) {
    xq_rows_fini(&b->rows);
    xq_free(b->seg);
    xq_sched_batch_init(b);
}

void xq_sched_batch_reset(xq_sched_batch_t *b,
                          const void *model,
                          bool grad,
                          const xq_layout_t *l,
                          size_t out_cnt,
                          size_t limit) {
    b->model = model;
    b->grad = grad;
    b->shape = l;
    b->limit = limit ? limit : 1;
    b->seg_cnt = 0;
    xq_rows_reset(&b->rows, l, out_cnt, grad); /* keeps the buffers of the same shape */
}

bool xq_sched_batch_takes(const xq_sched_batch_t *b,
                          const void *model,
                          bool grad,
                          const xq_layout_t *l) {
    return b->model == model && b->grad == grad && b->rows.cnt < b->limit &&
           (b->shape == l || xq_layout_compatible(b->shape, l));
}

/* Room for one more segment. */
static xq_sched_seg_t *seg_push(xq_sched_batch_t *b) {
    if (b->seg_cnt == b->seg_cap) {
        b->seg_cap = b->seg_cap ? 2 * b->seg_cap : 16;
        b->seg = xq_reallocarray(b->seg, b->seg_cap, sizeof(*b->seg));
    }
    return &b->seg[b->seg_cnt++];
}

size_t xq_sched_batch_plan(
    xq_sched_batch_t *b, void *owner, size_t index, xq_run_t *run, const xq_layout_t *l) {
    size_t first = b->rows.cnt, n;

    XQ_ASSERT(owner != NULL);
    n = xq_run_plan(run, &b->rows, b->limit > first ? b->limit - first : 1);
    XQ_ASSERT(n > 0); /* a run that is not done always has rows to plan */
    *seg_push(b) = (xq_sched_seg_t){
        .owner = owner, .run = run, .layout = l, .index = index, .first = first, .cnt = n};
    return n;
}

size_t xq_sched_batch_move(xq_sched_batch_t *dst, const xq_sched_batch_t *src, size_t s) {
    const xq_sched_seg_t *sg = &src->seg[s];
    size_t first = dst->rows.cnt;

    XQ_ASSERT(sg->owner != NULL);
    for (size_t k = sg->first; k < sg->first + sg->cnt; k++)
        xq_rows_copy_row(&dst->rows, &src->rows, k);
    *seg_push(dst) = (xq_sched_seg_t){.owner = sg->owner,
                                      .run = sg->run,
                                      .layout = sg->layout,
                                      .index = sg->index,
                                      .first = first,
                                      .cnt = sg->cnt};
    return sg->cnt;
}

size_t xq_sched_batch_forget(xq_sched_batch_t *b, const void *owner) {
    const xq_sched_seg_t *live = NULL;
    bool gone_shape = false;
    size_t live_cnt = 0;

    for (size_t s = 0; s < b->seg_cnt; s++) {
        xq_sched_seg_t *sg = &b->seg[s];

        if (sg->owner && sg->owner == owner) {
            gone_shape |= sg->layout == b->shape;
            sg->owner = NULL;
            sg->run = NULL;
            sg->layout = NULL;
        }
        if (sg->owner) {
            live_cnt++;
            if (!live)
                live = sg;
        }
    }
    if (gone_shape && live) {
        /* compatible layouts name the same tensors: take the names from a live one */
        b->shape = live->layout;
        memcpy(b->rows.names, live->layout->tensor_names,
               live->layout->tensor_cnt * sizeof(*b->rows.names));
    }
    return live_cnt;
}

size_t xq_sched_batch_owners(const xq_sched_batch_t *b) {
    size_t owners = 0;

    for (size_t s = 0; s < b->seg_cnt; s++) {
        bool seen = false;

        if (!b->seg[s].owner)
            continue;
        for (size_t k = 0; k < s && !seen; k++)
            seen = b->seg[k].owner == b->seg[s].owner;
        owners += !seen;
    }
    return owners;
}

void xq_sched_batch_reduce(xq_sched_batch_t *b) {
    for (size_t s = 0; s < b->seg_cnt; s++) {
        const xq_sched_seg_t *sg = &b->seg[s];

        if (sg->owner)
            xq_run_reduce(sg->run, &b->rows, sg->first, sg->cnt);
    }
}

void xq_sched_batch_fail(xq_sched_batch_t *b, const xq_error_t *err) {
    for (size_t s = 0; s < b->seg_cnt; s++) {
        if (b->seg[s].owner)
            xq_run_fail(b->seg[s].run, err);
    }
}

size_t xq_sched_limit(size_t row_elems, size_t max_rows, size_t max_elems) {
    size_t rows = max_rows;

    if (max_elems) {
        size_t by_elems = max_elems / (row_elems ? row_elems : 1);

        if (by_elems < rows)
            rows = by_elems;
    }
    return rows ? rows : 1;
}

size_t xq_sched_fill(xq_sched_batch_t *b,
                     void *owner,
                     const void *model,
                     size_t out_cnt,
                     xq_run_t *const *runs,
                     xq_layout_t *const *layouts,
                     size_t cnt,
                     size_t max_rows,
                     size_t max_elems) {
    size_t lead = cnt;
    xq_step_t kind = XQ_STEP_DONE;

    for (size_t i = 0; i < cnt && lead == cnt; i++) {
        if (runs[i] && (kind = xq_run_next(runs[i])) != XQ_STEP_DONE)
            lead = i;
    }
    if (lead == cnt) {
        b->seg_cnt = 0;
        b->rows.cnt = 0;
        return 0;
    }
    xq_sched_batch_reset(b, model, kind == XQ_STEP_GRADIENT, layouts[lead], out_cnt,
                         xq_sched_limit(layouts[lead]->elem_total, max_rows, max_elems));
    for (size_t i = lead; i < cnt && !xq_sched_batch_full(b); i++) {
        if (runs[i] && xq_run_next(runs[i]) == kind &&
            xq_sched_batch_takes(b, model, kind == XQ_STEP_GRADIENT, layouts[i]))
            xq_sched_batch_plan(b, owner, i, runs[i], layouts[i]);
    }
    return b->rows.cnt;
}
