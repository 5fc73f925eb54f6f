/* offsets.c -- the offsets answered ahead of each partition's committed offset. */
#include "offsets.h"

#include <stdio.h>
#include <string.h>

#include "mem.h"

typedef struct part {
    int32_t partition;
    int64_t base;   /* the committed offset the deltas count from */
    int64_t *ahead; /* sorted */
    size_t cnt, cap;
    size_t meta_len; /* what ahead[] takes encoded against base (an upper bound) */
    int64_t *live;   /* jobs in flight, sorted */
    size_t live_cnt, live_cap;
} part_t;

struct xq_offsets {
    part_t *parts;
    size_t cnt, cap;
};

xq_offsets_t *xq_offsets_new(void) {
    return xq_calloc(1, sizeof(xq_offsets_t));
}

void xq_offsets_destroy(xq_offsets_t *t) {
    if (!t)
        return;
    for (size_t i = 0; i < t->cnt; i++) {
        xq_free(t->parts[i].ahead);
        xq_free(t->parts[i].live);
    }
    xq_free(t->parts);
    xq_free(t);
}

static part_t *find(const xq_offsets_t *t, int32_t partition) {
    for (size_t i = 0; i < t->cnt; i++) {
        if (t->parts[i].partition == partition)
            return &t->parts[i];
    }
    return NULL;
}

static part_t *get(xq_offsets_t *t, int32_t partition) {
    part_t *p = find(t, partition);

    if (p)
        return p;
    if (t->cnt == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 8;
        t->parts = xq_reallocarray(t->parts, t->cap, sizeof(*t->parts));
    }
    p = &t->parts[t->cnt++];
    memset(p, 0, sizeof(*p));
    p->partition = partition;
    p->meta_len = 3;
    return p;
}

/* Bytes of ",<delta in base 36>". */
static size_t entry_len(int64_t delta) {
    size_t n = 2;

    while (delta >= 36) {
        delta /= 36;
        n++;
    }
    return n;
}

static void add(part_t *p, int64_t offset) {
    size_t i = p->cnt;

    if (p->cnt == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 32;
        p->ahead = xq_reallocarray(p->ahead, p->cap, sizeof(*p->ahead));
    }
    while (i > 0 && p->ahead[i - 1] > offset)
        i--;
    if (i > 0 && p->ahead[i - 1] == offset)
        return;
    memmove(p->ahead + i + 1, p->ahead + i, (p->cnt - i) * sizeof(*p->ahead));
    p->ahead[i] = offset;
    p->cnt++;
    p->meta_len += entry_len(offset - p->base);
}

void xq_offsets_reset(
    xq_offsets_t *t, int32_t partition, int64_t committed, const char *meta, size_t len) {
    part_t *p = get(t, partition);
    size_t i = 3;

    p->cnt = 0;
    p->live_cnt = 0;
    p->base = committed < 0 ? 0 : committed;
    p->meta_len = 3;
    if (!meta || len < 3 || memcmp(meta, "xq1", 3) != 0)
        return;
    while (i < len && meta[i] == ',') {
        int64_t d = 0;
        size_t start = ++i;

        for (; i < len && meta[i] != ',' && i - start < 12; i++) {
            char c = meta[i];
            int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : -1;

            if (v < 0)
                return; /* damaged: what was read so far stands */
            d = d * 36 + v;
        }
        if (i == start)
            return;
        add(p, p->base + d);
    }
}

void xq_offsets_forget(xq_offsets_t *t, int32_t partition) {
    part_t *p = find(t, partition);

    if (!p)
        return;
    xq_free(p->ahead);
    xq_free(p->live);
    *p = t->parts[--t->cnt];
}

/* Index of the first live offset >= @p offset. */
static size_t live_find(const part_t *p, int64_t offset) {
    size_t lo = 0, hi = p->live_cnt;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (p->live[mid] < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void xq_offsets_track(xq_offsets_t *t, int32_t partition, int64_t offset) {
    part_t *p = get(t, partition);
    size_t i;

    if (p->live_cnt == p->live_cap) {
        p->live_cap = p->live_cap ? 2 * p->live_cap : 64;
        p->live = xq_reallocarray(p->live, p->live_cap, sizeof(*p->live));
    }
    /* jobs arrive in offset order: the end, but for a partition set back */
    i = p->live_cnt && p->live[p->live_cnt - 1] < offset ? p->live_cnt : live_find(p, offset);
    if (i < p->live_cnt && p->live[i] == offset)
        return;
    memmove(p->live + i + 1, p->live + i, (p->live_cnt - i) * sizeof(*p->live));
    p->live[i] = offset;
    p->live_cnt++;
}

void xq_offsets_untrack(xq_offsets_t *t, int32_t partition, int64_t offset) {
    part_t *p = find(t, partition);
    size_t i;

    if (!p || (i = live_find(p, offset)) >= p->live_cnt || p->live[i] != offset)
        return;
    memmove(p->live + i, p->live + i + 1, (p->live_cnt - i - 1) * sizeof(*p->live));
    p->live_cnt--;
}

size_t xq_offsets_inflight(const xq_offsets_t *t, int32_t partition) {
    const part_t *p = find(t, partition);

    return p ? p->live_cnt : 0;
}

int64_t xq_offsets_committable(const xq_offsets_t *t, int32_t partition, int64_t position) {
    const part_t *p = find(t, partition);

    return p && p->live_cnt && (position < 0 || p->live[0] < position) ? p->live[0] : position;
}

bool xq_offsets_may_publish(xq_offsets_t *t, int32_t partition, int64_t offset) {
    const part_t *p = find(t, partition);

    if (p && p->live_cnt && p->live[0] == offset)
        return true;
    return xq_offsets_ahead(t, partition, offset);
}

bool xq_offsets_answered(const xq_offsets_t *t, int32_t partition, int64_t offset) {
    const part_t *p = find(t, partition);
    size_t lo = 0, hi = p ? p->cnt : 0;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (p->ahead[mid] == offset)
            return true;
        if (p->ahead[mid] < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool xq_offsets_ahead(xq_offsets_t *t, int32_t partition, int64_t offset) {
    part_t *p = get(t, partition);

    if (offset < p->base || p->meta_len + entry_len(offset - p->base) > XQ_OFFSETS_META_MAX)
        return false;
    add(p, offset);
    return true;
}

size_t
xq_offsets_metadata(xq_offsets_t *t, int32_t partition, int64_t commit_at, char *buf, size_t cap) {
    part_t *p = get(t, partition);
    size_t drop = 0, n = 3;

    while (drop < p->cnt && p->ahead[drop] < commit_at)
        drop++;
    if (drop) { /* (ahead may be NULL when empty: memmove() must not see it) */
        memmove(p->ahead, p->ahead + drop, (p->cnt - drop) * sizeof(*p->ahead));
        p->cnt -= drop;
    }
    if (commit_at > p->base)
        p->base = commit_at;
    p->meta_len = 3;
    for (size_t i = 0; i < p->cnt; i++)
        p->meta_len += entry_len(p->ahead[i] - p->base);
    if (!p->cnt || cap < p->meta_len + 1)
        return 0;
    memcpy(buf, "xq1", 3);
    for (size_t i = 0; i < p->cnt; i++) {
        char digits[16];
        int64_t d = p->ahead[i] - p->base;
        size_t k = 0;

        do {
            int v = (int)(d % 36);

            digits[k++] = (char)(v < 10 ? '0' + v : 'a' + v - 10);
            d /= 36;
        } while (d);
        buf[n++] = ',';
        while (k)
            buf[n++] = digits[--k];
    }
    buf[n] = '\0';
    return n;
}
