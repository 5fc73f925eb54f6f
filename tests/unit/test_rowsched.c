/* test_rowsched.c -- the row scheduler: segments, limits, failed batches, owners gone mid-batch. */
#include <string.h>

#include <check.h>

#include "helpers.h"
#include "mem.h"
#include "mp.h"
#include "rowsched.h"
#include "spec_helpers.h"
#include "suites.h"
#include "testmodels.h"

#define SPEC "{\"parameters\": {\"sampledShapleyAttribution\": {\"pathCount\": 3}}}"
#define INSTS                                                                                   \
    "[{\"x\": [0.9, -1.2, 1.5, 0.7, -0.8, 1.1, 2.0, -1.3]}, {\"x\": [1, 2, 3, 4, 5, 6, 7, 8]}," \
    " {\"x\": [0, 0, 0, 1, 1, 1, 0.5, 0.5]}]"
#define N 3

/* One owner's runs over the three instances (a worker's job). */
typedef struct owner {
    xq_layout_t *layouts[N];
    xq_run_t *runs[N];
} owner_t;

typedef struct fixture {
    xq_spec_t *spec;
    xq_model_t *model;
    xq_buf_t mp;
    msgpack_unpacked insts;
} fixture_t;

static void fixture_init(fixture_t *f) {
    tfun_t fn = {.in_cnt = 8,
                 .out_cnt = 1,
                 .f = t_quad_f,
                 .df = t_quad_df,
                 .w = {1, -1, 0.5, 2, -0.5, 1.5, 0.25, -2}};
    const char *names[] = {"x"};
    size_t sizes[] = {8};

    f->spec = t_spec_ok(SPEC);
    f->model = t_model(&fn, names, sizes, 1, 0, NULL, NULL);
    xq_buf_init(&f->mp);
    t_json_to_mp(INSTS, &f->mp);
    t_unpack(&f->mp, &f->insts);
}

static void fixture_fini(fixture_t *f) {
    msgpack_unpacked_destroy(&f->insts);
    xq_buf_fini(&f->mp);
    xq_model_destroy(f->model);
    xq_spec_destroy(f->spec);
}

static void owner_init(owner_t *o, fixture_t *f, uint64_t seed) {
    xq_run_opts_t ro = {.seed = seed, .model = f->model};
    xq_error_t err;

    for (size_t i = 0; i < N; i++) {
        ck_assert_int_eq(xq_layout_build(f->spec, f->model, &f->insts.data.via.array.ptr[i], i,
                                         &o->layouts[i], &err),
                         XQ_OK);
        o->runs[i] = xq_run_new(f->spec, o->layouts[i], xq_model_output(f->model), &ro, i);
        ck_assert_int_ne(xq_run_next(o->runs[i]), XQ_STEP_DONE);
    }
}

static void owner_fini(owner_t *o) {
    for (size_t i = 0; i < N; i++) {
        xq_run_destroy(o->runs[i]);
        xq_layout_destroy(o->layouts[i]);
        o->runs[i] = NULL;
        o->layouts[i] = NULL;
    }
}

/* Runs @p o to the end, @p max_rows rows per batch; packs every explanation into @p out. */
static void owner_finish(owner_t *o, fixture_t *f, size_t max_rows, xq_buf_t *out) {
    xq_sched_batch_t b;
    msgpack_packer pk;
    xq_error_t err;

    xq_sched_batch_init(&b);
    while (xq_sched_fill(&b, o, f->model, 1, o->runs, o->layouts, N, max_rows, 0)) {
        ck_assert_uint_le(b.rows.cnt, max_rows);
        ck_assert_int_eq(xq_rows_eval(&b.rows, f->model, 0, &err), XQ_OK);
        xq_sched_batch_reduce(&b);
    }
    xq_sched_batch_fini(&b);
    xq_mp_packer_init(&pk, out);
    for (size_t i = 0; i < N; i++) {
        ck_assert_int_eq(xq_run_next(o->runs[i]), XQ_STEP_DONE);
        ck_assert_int_eq(xq_run_status(o->runs[i], &err), XQ_OK);
        xq_run_pack(o->runs[i], &pk);
    }
}

/* Segments tile the batch in planning order and name their run, owner and layout. */
START_TEST(test_rowsched_segments) {
    fixture_t f;
    owner_t a, c;
    xq_sched_batch_t b;
    size_t next = 0;

    fixture_init(&f);
    owner_init(&a, &f, 1);
    owner_init(&c, &f, 2);
    xq_sched_batch_init(&b);
    ck_assert_uint_gt(xq_sched_fill(&b, &a, f.model, 1, a.runs, a.layouts, N, 10000, 0), 0);
    ck_assert_uint_eq(b.seg_cnt, N); /* room for all: one segment per run */
    ck_assert_ptr_eq(b.shape, a.layouts[0]);
    for (size_t s = 0; s < b.seg_cnt; s++) {
        ck_assert_ptr_eq(b.seg[s].owner, &a);
        ck_assert_ptr_eq(b.seg[s].run, a.runs[s]);
        ck_assert_ptr_eq(b.seg[s].layout, a.layouts[s]);
        ck_assert_uint_eq(b.seg[s].index, s);
        ck_assert_uint_eq(b.seg[s].first, next);
        ck_assert_uint_gt(b.seg[s].cnt, 0);
        next += b.seg[s].cnt;
    }
    ck_assert_uint_eq(next, b.rows.cnt);
    ck_assert_uint_eq(xq_sched_batch_owners(&b), 1);
    /* a second owner's runs join a batch of the same model, kind and shape */
    ck_assert(xq_sched_batch_takes(&b, f.model, false, c.layouts[0]));
    ck_assert(!xq_sched_batch_takes(&b, f.model, true, c.layouts[0]));  /* another kind */
    ck_assert(!xq_sched_batch_takes(&b, &f.spec, false, c.layouts[0])); /* another model */
    ck_assert_uint_gt(xq_sched_batch_plan(&b, &c, 1, c.runs[1], c.layouts[1]), 0);
    ck_assert_uint_eq(b.seg[N].first, next);
    ck_assert_uint_eq(b.seg[N].first + b.seg[N].cnt, b.rows.cnt);
    ck_assert_uint_eq(xq_sched_batch_owners(&b), 2);
    /* owners go: the batch is nobody's once the last one went */
    ck_assert_uint_eq(xq_sched_batch_forget(&b, &a), 1);
    ck_assert_ptr_eq(b.shape, c.layouts[1]);
    ck_assert_uint_eq(xq_sched_batch_forget(&b, &a), 1); /* twice: no-op */
    ck_assert_uint_eq(xq_sched_batch_forget(&b, &c), 0);
    ck_assert_uint_eq(xq_sched_batch_owners(&b), 0);
    xq_sched_batch_fini(&b);
    owner_fini(&a);
    owner_fini(&c);
    fixture_fini(&f);
}

END_TEST

/* Limits: by rows and by elements; a batch never exceeds its limit, and results do not depend
 * on it (the same bytes at 1, 7 and 10,000 rows per batch). */
START_TEST(test_rowsched_limits) {
    const size_t limits[] = {1, 7, 10000};
    fixture_t f;
    xq_buf_t ref;

    ck_assert_uint_eq(xq_sched_limit(8, 10, 40), 5);
    ck_assert_uint_eq(xq_sched_limit(8, 10, 0), 10);
    ck_assert_uint_eq(xq_sched_limit(100, 10, 40), 1); /* at least one */
    ck_assert_uint_eq(xq_sched_limit(0, 0, 0), 1);
    fixture_init(&f);
    xq_buf_init(&ref);
    for (size_t l = 0; l < 3; l++) {
        owner_t o;
        xq_buf_t out;

        xq_buf_init(&out);
        owner_init(&o, &f, 9);
        owner_finish(&o, &f, limits[l], &out);
        if (!l) {
            xq_buf_append(&ref, out.data, out.len);
        } else {
            ck_assert_uint_eq(out.len, ref.len);
            ck_assert_int_eq(memcmp(out.data, ref.data, ref.len), 0);
        }
        owner_fini(&o);
        xq_buf_fini(&out);
    }
    xq_buf_fini(&ref);
    fixture_fini(&f);
}

END_TEST

/* A batch that cannot be evaluated fails the runs it holds, and only those. */
START_TEST(test_rowsched_failed_batch) {
    fixture_t f;
    owner_t o;
    xq_sched_batch_t b;
    xq_error_t err, got;

    fixture_init(&f);
    owner_init(&o, &f, 3);
    xq_sched_batch_init(&b);
    /* one row: only the first run is in the batch */
    ck_assert_uint_eq(xq_sched_fill(&b, &o, f.model, 1, o.runs, o.layouts, N, 1, 0), 1);
    ck_assert_uint_eq(b.seg_cnt, 1);
    xq_error_set(&err, XQ_EMODEL, "model", "model m: the runner broke");
    xq_sched_batch_fail(&b, &err);
    ck_assert_int_eq(xq_run_next(o.runs[0]), XQ_STEP_DONE);
    ck_assert_int_eq(xq_run_status(o.runs[0], &got), XQ_EMODEL);
    ck_assert_str_eq(got.msg, "model m: the runner broke");
    ck_assert_int_ne(xq_run_next(o.runs[1]), XQ_STEP_DONE);
    ck_assert_int_ne(xq_run_next(o.runs[2]), XQ_STEP_DONE);
    /* the next pass leads with the next run not done */
    ck_assert_uint_eq(xq_sched_fill(&b, &o, f.model, 1, o.runs, o.layouts, N, 1, 0), 1);
    ck_assert_ptr_eq(b.seg[0].run, o.runs[1]);
    xq_sched_batch_fini(&b);
    owner_fini(&o);
    fixture_fini(&f);
}

END_TEST

/*
 * An owner dropped while its rows are in flight (a worker's job on a rebalance): its segments
 * are skipped, its runs and layouts are freed before the reply and never touched (ASan would
 * see it), the batch's tensor names move to a live layout, and the live owner's explanations
 * are the bytes it gets alone.
 */
START_TEST(test_rowsched_owner_removed_mid_batch) {
    fixture_t f;
    owner_t a, c, alone;
    xq_sched_batch_t b, again;
    xq_buf_t out, ref;
    msgpack_packer pk;
    xq_error_t err;
    size_t live = 0;

    fixture_init(&f);
    owner_init(&a, &f, 5);
    owner_init(&c, &f, 6);
    xq_sched_batch_init(&b);
    xq_sched_batch_init(&again);
    xq_sched_batch_reset(&b, f.model, false, a.layouts[0], 1, 10000);
    for (size_t i = 0; i < N; i++) {
        xq_sched_batch_plan(&b, &a, i, a.runs[i], a.layouts[i]);
        xq_sched_batch_plan(&b, &c, i, c.runs[i], c.layouts[i]);
    }
    ck_assert_uint_eq(xq_sched_batch_owners(&b), 2);
    /* a shared batch's rows go again run by run: the same rows, one segment each */
    xq_sched_batch_reset(&again, f.model, false, b.seg[1].layout, 1, 10000);
    ck_assert_uint_eq(xq_sched_batch_move(&again, &b, 1), b.seg[1].cnt);
    ck_assert_uint_eq(again.rows.cnt, b.seg[1].cnt);
    ck_assert_ptr_eq(again.seg[0].owner, &c);
    ck_assert_uint_eq(again.seg[0].first, 0);
    ck_assert_int_eq(memcmp(again.rows.in[0], b.rows.in[0] + b.seg[1].first * 8,
                            b.seg[1].cnt * 8 * sizeof(float)),
                     0);
    xq_sched_batch_fini(&again);

    ck_assert_uint_eq(xq_sched_batch_forget(&b, &a), N);
    ck_assert_uint_eq(xq_sched_batch_owners(&b), 1);
    ck_assert_ptr_eq(b.shape, c.layouts[0]);
    ck_assert_ptr_eq(b.rows.names[0], c.layouts[0]->tensor_names[0]);
    owner_fini(&a); /* gone before the reply */
    ck_assert_int_eq(xq_rows_eval(&b.rows, f.model, 0, &err), XQ_OK);
    xq_sched_batch_reduce(&b);
    for (size_t s = 0; s < b.seg_cnt; s++)
        live += b.seg[s].owner != NULL;
    ck_assert_uint_eq(live, N);

    /* c finishes as if alone */
    xq_buf_init(&out);
    xq_buf_init(&ref);
    while (xq_sched_fill(&b, &c, f.model, 1, c.runs, c.layouts, N, 10000, 0)) {
        ck_assert_int_eq(xq_rows_eval(&b.rows, f.model, 0, &err), XQ_OK);
        xq_sched_batch_reduce(&b);
    }
    xq_mp_packer_init(&pk, &out);
    for (size_t i = 0; i < N; i++)
        xq_run_pack(c.runs[i], &pk);
    owner_init(&alone, &f, 6);
    owner_finish(&alone, &f, 10000, &ref);
    ck_assert_uint_eq(out.len, ref.len);
    ck_assert_int_eq(memcmp(out.data, ref.data, ref.len), 0);
    xq_sched_batch_fini(&b);
    xq_buf_fini(&out);
    xq_buf_fini(&ref);
    owner_fini(&alone);
    owner_fini(&c);
    fixture_fini(&f);
}

END_TEST

/* The same shape again keeps the buffers: no allocation per batch. */
START_TEST(test_rowsched_buffers_reused) {
    fixture_t f;
    owner_t o;
    xq_sched_batch_t b;
    float *in;
    size_t cap;

    fixture_init(&f);
    owner_init(&o, &f, 4);
    xq_sched_batch_init(&b);
    ck_assert_uint_gt(xq_sched_fill(&b, &o, f.model, 1, o.runs, o.layouts, N, 10000, 0), 0);
    in = b.rows.in[0];
    cap = b.rows.cap;
    xq_sched_batch_reset(&b, f.model, false, o.layouts[1], 1, 10000);
    ck_assert_uint_eq(b.rows.cnt, 0);
    ck_assert_uint_eq(b.seg_cnt, 0);
    ck_assert_ptr_eq(b.rows.in[0], in);
    ck_assert_uint_eq(b.rows.cap, cap);
    xq_sched_batch_fini(&b);
    owner_fini(&o);
    fixture_fini(&f);
}

END_TEST

Suite *rowsched_suite(void) {
    Suite *s = suite_create("rowsched");
    TCase *tc = tcase_create("rowsched");

    tcase_add_test(tc, test_rowsched_segments);
    tcase_add_test(tc, test_rowsched_limits);
    tcase_add_test(tc, test_rowsched_failed_batch);
    tcase_add_test(tc, test_rowsched_owner_removed_mid_batch);
    tcase_add_test(tc, test_rowsched_buffers_reused);
    suite_add_tcase(s, tc);
    return s;
}
