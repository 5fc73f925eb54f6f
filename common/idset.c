/* idset.c -- two generations of open-addressing tables of (key, holder) pairs. */
#include "idset.h"

#include "mem.h"

typedef struct slot {
    uint64_t key, holder; /* key 0: empty; holder 0: released */
} slot_t;

typedef struct gen {
    slot_t *slots;
    size_t cnt;
} gen_t;

struct xq_idset {
    gen_t g[2]; /* g[0] the newer */
    size_t half, mask;
};

xq_idset_t *xq_idset_new(size_t window) {
    xq_idset_t *s = xq_calloc(1, sizeof(*s));
    size_t cap = 16;

    s->half = window ? (window + 1) / 2 : 0;
    while (cap < 2 * s->half)
        cap *= 2; /* at most half full: probes stay short */
    s->mask = cap - 1;
    if (s->half) {
        s->g[0].slots = xq_calloc(cap, sizeof(slot_t));
        s->g[1].slots = xq_calloc(cap, sizeof(slot_t));
    }
    return s;
}

void xq_idset_destroy(xq_idset_t *s) {
    if (!s)
        return;
    xq_free(s->g[0].slots);
    xq_free(s->g[1].slots);
    xq_free(s);
}

/* The slot of @p key in @p g, or the empty slot where it would go. */
static slot_t *find(const xq_idset_t *s, const gen_t *g, uint64_t key) {
    size_t i = (size_t)(key * 0x9e3779b97f4a7c15ull) & s->mask;

    while (g->slots[i].key && g->slots[i].key != key)
        i = (i + 1) & s->mask;
    return &g->slots[i];
}

bool xq_idset_claim(xq_idset_t *s, uint64_t key, uint64_t holder) {
    slot_t *e;

    if (!s->half)
        return true;
    key = key ? key : 1;
    for (int k = 0; k < 2; k++) {
        e = find(s, &s->g[k], key);
        if (e->key) {
            if (e->holder && e->holder != holder)
                return false;
            e->holder = holder;
            return true;
        }
    }
    if (s->g[0].cnt >= s->half) {
        /* the older generation goes; the newer becomes the older */
        gen_t old = s->g[1];

        s->g[1] = s->g[0];
        s->g[0] = old;
        for (size_t i = 0; i <= s->mask; i++)
            s->g[0].slots[i] = (slot_t){0, 0};
        s->g[0].cnt = 0;
    }
    e = find(s, &s->g[0], key);
    *e = (slot_t){key, holder};
    s->g[0].cnt++;
    return true;
}

void xq_idset_release(xq_idset_t *s, uint64_t key) {
    if (!s->half)
        return;
    key = key ? key : 1;
    for (int k = 0; k < 2; k++) {
        slot_t *e = find(s, &s->g[k], key);

        if (e->key)
            e->holder = 0;
    }
}
