/* layout_slots.c -- a layout's players, their element ranges and its attribution entries. */
#include <stdint.h>
#include <string.h>

#include "layout_int.h"
#include "mem.h"

/* Growable arrays for slots, ranges and entries. */
typedef struct builder {
    xq_layout_t *l;
    size_t slot_cap, range_cap, entry_cap;
} builder_t;

static void add_range(builder_t *bd, size_t off, size_t len) {
    xq_layout_t *l = bd->l;

    if (l->range_cnt == bd->range_cap) {
        bd->range_cap = bd->range_cap ? 2 * bd->range_cap : 64;
        l->ranges = xq_reallocarray(l->ranges, bd->range_cap, sizeof(*l->ranges));
    }
    l->ranges[l->range_cnt].off = off;
    l->ranges[l->range_cnt].len = len;
    l->range_cnt++;
}

/* Opens a slot whose ranges are the ones added next. */
static void add_slot(builder_t *bd) {
    xq_layout_t *l = bd->l;

    if (l->slot_cnt == bd->slot_cap) {
        bd->slot_cap = bd->slot_cap ? 2 * bd->slot_cap : 64;
        l->slots = xq_reallocarray(l->slots, bd->slot_cap, sizeof(*l->slots));
    }
    l->slots[l->slot_cnt].range_first = l->range_cnt;
    l->slots[l->slot_cnt].range_cnt = 0;
    l->slot_cnt++;
}

static void slot_range(builder_t *bd, size_t off, size_t len) {
    add_range(bd, off, len);
    bd->l->slots[bd->l->slot_cnt - 1].range_cnt++;
}

static xq_entry_t *add_entry(builder_t *bd, const char *key, size_t ndim, const size_t *dims) {
    xq_layout_t *l = bd->l;
    xq_entry_t *e;

    if (l->entry_cnt == bd->entry_cap) {
        bd->entry_cap = bd->entry_cap ? 2 * bd->entry_cap : 16;
        l->entries = xq_reallocarray(l->entries, bd->entry_cap, sizeof(*l->entries));
    }
    e = &l->entries[l->entry_cnt++];
    memset(e, 0, sizeof(*e));
    e->key = key;
    e->ndim = ndim;
    if (ndim)
        memcpy(e->dims, dims, ndim * sizeof(*dims));
    e->slot_first = l->slot_cnt;
    return e;
}

/*
 * Checks no two entries share a key, through an open-addressing table of entry numbers (a
 * bag of features can have thousands of names: comparing every pair was quadratic).
 */
static xq_err_t unique_keys(const xq_layout_t *l, size_t index, xq_error_t *err) {
    uint32_t stack[256], *tab = stack;
    size_t cap = 16;
    xq_err_t rc = XQ_OK;

    while (cap < 2 * l->entry_cnt)
        cap *= 2;
    if (cap > sizeof(stack) / sizeof(stack[0]))
        tab = xq_malloc(cap * sizeof(*tab));
    memset(tab, 0xff, cap * sizeof(*tab)); /* UINT32_MAX: empty */
    for (size_t a = 0; a < l->entry_cnt && rc == XQ_OK; a++) {
        const char *key = l->entries[a].key;
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        size_t i;

        for (const unsigned char *c = (const unsigned char *)key; *c; c++)
            h = (h ^ *c) * 1099511628211ULL;
        for (i = (size_t)h & (cap - 1); tab[i] != UINT32_MAX; i = (i + 1) & (cap - 1)) {
            if (strcmp(l->entries[tab[i]].key, key) == 0) {
                rc = xq_error_set(err, XQ_EINVAL, key,
                                  "instance %zu: two attributions would be keyed %s", index, key);
                break;
            }
        }
        tab[i] = (uint32_t)a;
    }
    if (tab != stack)
        xq_free(tab);
    return rc;
}

xq_err_t
xq_layout_build_slots(xq_layout_t *l, feat_t *fs, size_t n, size_t index, xq_error_t *err) {
    builder_t bd = {.l = l};

    for (size_t i = 0; i < n; i++) {
        const feat_t *f = &fs[i];
        const char *group = f->meta ? f->meta->group_name : NULL;
        xq_entry_t *e;
        bool seen = false;

        if (group) {
            /* a group is one player and one value, at its first member's place */
            for (size_t j = 0; j < i && !seen; j++)
                seen = fs[j].meta && fs[j].meta->group_name &&
                       strcmp(fs[j].meta->group_name, group) == 0;
            if (seen)
                continue;
            e = add_entry(&bd, group, 0, NULL);
            add_slot(&bd);
            for (size_t j = i; j < n; j++) {
                if (fs[j].meta && fs[j].meta->group_name &&
                    strcmp(fs[j].meta->group_name, group) == 0)
                    slot_range(&bd, fs[j].off, fs[j].len);
            }
            e->slot_cnt = 1;
            continue;
        }
        switch (xq_feat_encoding(f)) {
        case XQ_ENCODING_BAG_OF_FEATURES:
        case XQ_ENCODING_BAG_OF_FEATURES_SPARSE:
        case XQ_ENCODING_INDICATOR:
            for (size_t k = 0; k < f->len; k++) {
                e = add_entry(&bd, f->meta->index_feature_mapping[k], 0, NULL);
                add_slot(&bd);
                slot_range(&bd, f->off + k, 1);
                e->slot_cnt = 1;
            }
            break;
        case XQ_ENCODING_COMBINED_EMBEDDING:
            e = add_entry(&bd, f->name, 0, NULL);
            add_slot(&bd);
            slot_range(&bd, f->off, f->len);
            e->slot_cnt = 1;
            break;
        case XQ_ENCODING_CONCAT_EMBEDDING:
            e = add_entry(&bd, f->name, f->ndim, f->dims);
            for (size_t k = 0; k < f->raw_cnt; k++) {
                add_slot(&bd);
                slot_range(&bd, f->off + k * f->emb_dim, f->emb_dim);
            }
            e->slot_cnt = f->raw_cnt;
            break;
        default:
            e = add_entry(&bd, f->name, f->ndim, f->dims);
            for (size_t k = 0; k < f->len; k++) {
                add_slot(&bd);
                slot_range(&bd, f->off + k, 1);
            }
            e->slot_cnt = f->len;
            break;
        }
    }
    return unique_keys(l, index, err);
}

void xq_layout_find_images(xq_layout_t *l, const feat_t *fs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const feat_t *f = &fs[i];

        if (!f->meta || f->meta->modality != XQ_MODALITY_IMAGE || xq_feat_is_embedding(f))
            continue;
        if (!l->images) /* tabular instances have none: no allocation */
            l->images = xq_calloc(n, sizeof(*l->images));
        l->images[l->image_cnt].off = f->off;
        l->images[l->image_cnt].h = f->dims[0];
        l->images[l->image_cnt].w = f->dims[1];
        l->images[l->image_cnt].c = f->ndim == 3 ? f->dims[2] : 1;
        l->images[l->image_cnt].meta = f->meta;
        l->images[l->image_cnt].entry = SIZE_MAX;
        for (size_t e = 0; e < l->entry_cnt; e++) {
            if (strcmp(l->entries[e].key, f->name) == 0 && l->entries[e].slot_cnt == f->len)
                l->images[l->image_cnt].entry = e;
        }
        l->image_cnt++;
    }
}
