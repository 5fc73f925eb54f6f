/* instances.c -- instance files as users hold them (see instances.h). */
#include "instances.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "mp.h"

/* Longest numeric text read as a number; a longer one is not a number a user meant. */
#define MAX_NUMBER_TEXT 80

struct xq_inst_reader {
    FILE *f;
    char *name;
    xq_inst_format_t format;
    const xq_spec_t *spec;
    const char *const *text_fields;
    size_t text_cnt;
    char *line; /* getline's buffer */
    size_t cap;
    size_t lineno; /* lines read so far */
    bool first;    /* no JSON line read yet */
    /* a request body being given out: its msgpack, the unpacked object, the next element */
    xq_buf_t body_mp;
    msgpack_unpacked body;
    bool in_body;
    uint32_t body_next;
    size_t body_line;
    /* CSV: the header's names (pool + offsets) and which columns are numbers */
    xq_buf_t head_pool, head_offs;
    bool *numeric;
    size_t col_cnt;
    xq_buf_t rec; /* one record, possibly over several lines */
};

bool xq_inst_number(const char *s, size_t len, double *out) {
    char buf[MAX_NUMBER_TEXT + 1], *end;
    bool digit = false;

    if (!len || len > MAX_NUMBER_TEXT)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (isdigit((unsigned char)c))
            digit = true;
        else if (c != '+' && c != '-' && c != '.' && c != 'e' && c != 'E')
            return false;
    }
    if (!digit)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    *out = strtod(buf, &end);
    return errno == 0 && end == buf + len && isfinite(*out);
}

int xq_inst_csv_record(
    const char *s, size_t len, xq_buf_t *pool, xq_buf_t *offs, size_t *used, size_t *col) {
    size_t i = 0, field = 1;

    for (;;) {
        size_t off = pool->len;

        xq_buf_append(offs, &off, sizeof(off));
        if (i < len && s[i] == '"') {
            i++;
            for (;;) {
                if (i == len)
                    return 0; /* the quotes go on past the end: more lines are needed */
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"') {
                        xq_buf_append(pool, "\"", 1);
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                xq_buf_append(pool, &s[i++], 1);
            }
            if (i < len && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
                *col = field;
                return -1;
            }
        } else {
            while (i < len && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
                if (s[i] == '"') {
                    *col = field;
                    return -1;
                }
                xq_buf_append(pool, &s[i++], 1);
            }
        }
        xq_buf_append(pool, "", 1);
        if (i < len && s[i] == ',') {
            i++;
            field++;
            continue;
        }
        if (i < len && s[i] == '\r')
            i++;
        if (i < len && s[i] == '\n')
            i++;
        *used = i;
        return 1;
    }
}

/* Reads one line into r->line; @returns its length without the line end, or -1 at the end. */
static ssize_t read_line(xq_inst_reader_t *r, bool keep_end) {
    ssize_t n = getline(&r->line, &r->cap, r->f);
    size_t l;

    if (n <= 0)
        return -1;
    r->lineno++;
    l = (size_t)n;
    if (!keep_end) {
        while (l && (r->line[l - 1] == '\n' || r->line[l - 1] == '\r'))
            l--;
    }
    return (ssize_t)l;
}

static bool is_text_field(const xq_inst_reader_t *r, const char *name) {
    for (size_t i = 0; i < r->text_cnt; i++) {
        if (strcmp(r->text_fields[i], name) == 0)
            return true;
    }
    return false;
}

/* Which CSV columns hold numbers: metadata inputs (not images), or every column without metadata.
 */
static bool column_numeric(const xq_inst_reader_t *r, const char *name) {
    if (is_text_field(r, name))
        return false;
    if (!r->spec || !r->spec->meta.present)
        return true;
    for (size_t i = 0; i < r->spec->meta.input_cnt; i++) {
        if (strcmp(r->spec->meta.inputs[i].name, name) == 0)
            return true;
    }
    return false;
}

/* Reads lines into r->rec until they hold one whole CSV record; @returns 1, 0 at the end, -1. */
static int read_record(xq_inst_reader_t *r, xq_buf_t *pool, xq_buf_t *offs, xq_error_t *err) {
    size_t used, col = 0;
    ssize_t n;
    int got;

    r->rec.len = 0;
    do {
        if ((n = read_line(r, true)) < 0) {
            if (!r->rec.len)
                return 0;
            xq_error_set(err, XQ_EINVAL, "", "line %zu: a quoted field is not closed", r->lineno);
            return -1;
        }
        if (r->rec.len + (size_t)n > XQ_INST_MAX_LINE) {
            xq_error_set(err, XQ_ELIMIT, "", "line %zu: record longer than %u bytes", r->lineno,
                         XQ_INST_MAX_LINE);
            return -1;
        }
        xq_buf_append(&r->rec, r->line, (size_t)n);
        pool->len = 0;
        offs->len = 0;
        got = xq_inst_csv_record((const char *)r->rec.data, r->rec.len, pool, offs, &used, &col);
    } while (got == 0);
    if (got < 0) {
        xq_error_set(err, XQ_EINVAL, "", "line %zu, column %zu: a quote inside an unquoted field",
                     r->lineno, col);
        return -1;
    }
    return 1;
}

static xq_err_t read_header(xq_inst_reader_t *r, xq_error_t *err) {
    int got;

    while ((got = read_record(r, &r->head_pool, &r->head_offs, err)) > 0 && r->head_pool.len == 1)
        ; /* blank lines before the header */
    if (got < 0)
        return err->code;
    if (got == 0)
        return xq_error_set(err, XQ_EINVAL, "", "%s: no header line", r->name);
    r->col_cnt = r->head_offs.len / sizeof(size_t);
    r->numeric = xq_calloc(r->col_cnt, sizeof(bool));
    for (size_t c = 0; c < r->col_cnt; c++) {
        const char *h = (const char *)r->head_pool.data + ((size_t *)r->head_offs.data)[c];

        if (!h[0])
            return xq_error_set(err, XQ_EINVAL, "", "line %zu, column %zu: empty column name",
                                r->lineno, c + 1);
        for (size_t d = 0; d < c; d++) {
            if (!strcmp(h, (const char *)r->head_pool.data + ((size_t *)r->head_offs.data)[d]))
                return xq_error_set(err, XQ_EINVAL, "", "line %zu: column %s appears twice",
                                    r->lineno, h);
        }
        r->numeric[c] = column_numeric(r, h);
    }
    return XQ_OK;
}

static xq_err_t
next_csv(xq_inst_reader_t *r, xq_buf_t *out, size_t *line, bool *eof, xq_error_t *err) {
    xq_buf_t pool, offs;
    msgpack_packer pk;
    size_t cnt, first;
    xq_err_t rc = XQ_OK;
    int got;

    xq_buf_init(&pool);
    xq_buf_init(&offs);
    do {
        first = r->lineno + 1;
        got = read_record(r, &pool, &offs, err);
    } while (got > 0 && pool.len == 1 && offs.len == sizeof(size_t)); /* blank lines */
    *line = first;
    if (got <= 0) {
        *eof = got == 0;
        rc = got == 0 ? XQ_OK : err->code;
        goto out;
    }
    cnt = offs.len / sizeof(size_t);
    if (cnt != r->col_cnt) {
        rc = xq_error_set(err, XQ_EINVAL, "", "line %zu: %zu fields, the header has %zu", first,
                          cnt, r->col_cnt);
        goto out;
    }
    xq_mp_packer_init(&pk, out);
    first = out->len;
    msgpack_pack_map(&pk, (uint32_t)cnt);
    for (size_t c = 0; c < cnt; c++) {
        const char *v = (const char *)pool.data + ((size_t *)offs.data)[c];
        const char *h = (const char *)r->head_pool.data + ((size_t *)r->head_offs.data)[c];
        size_t vl = strlen(v), s = 0;
        double d;

        xq_mp_pack_str(&pk, h);
        if (!r->numeric[c]) {
            xq_mp_pack_strn(&pk, v, vl);
            continue;
        }
        while (s < vl && (v[s] == ' ' || v[s] == '\t'))
            s++;
        while (vl > s && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        if (s == vl) {
            msgpack_pack_nil(&pk); /* a missing value */
        } else if (xq_inst_number(v + s, vl - s, &d)) {
            msgpack_pack_double(&pk, d);
        } else {
            out->len = first;
            rc = xq_error_set(err, XQ_EINVAL, h,
                              "line %zu, column %zu (%s): \"%.40s\" is not a number", *line, c + 1,
                              h, v);
            goto out;
        }
    }
    *eof = false;
out:
    xq_buf_fini(&pool);
    xq_buf_fini(&offs);
    return rc;
}

/* true when @p o is a request body: a map of "instances" (an array) and optionally "parameters". */
static bool is_body(const xq_inst_reader_t *r, const msgpack_object *o) {
    const msgpack_object *in;

    if (o->type != MSGPACK_OBJECT_MAP || !(in = xq_mp_map_get(o, "instances")) ||
        in->type != MSGPACK_OBJECT_ARRAY)
        return false;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;

        if (!xq_mp_str_eq(k, "instances") && !xq_mp_str_eq(k, "parameters"))
            return false;
    }
    /* a spec whose one input is called "instances" takes such objects as instances */
    for (size_t i = 0; r->spec && r->spec->meta.present && i < r->spec->meta.input_cnt; i++) {
        if (!strcmp(r->spec->meta.inputs[i].name, "instances"))
            return false;
    }
    return true;
}

/* Gives out the next element of the body being read, if any. */
static bool next_from_body(xq_inst_reader_t *r, xq_buf_t *out, size_t *line) {
    const msgpack_object *in;
    msgpack_packer pk;

    if (!r->in_body)
        return false;
    in = xq_mp_map_get(&r->body.data, "instances");
    if (r->body_next == in->via.array.size) {
        r->in_body = false;
        return false;
    }
    xq_mp_packer_init(&pk, out);
    msgpack_pack_object(&pk, in->via.array.ptr[r->body_next++]);
    *line = r->body_line;
    return true;
}

/* Takes @p text (one line, or the whole document) as an instance or a body of instances;
 * @p *got is false for an empty body. */
static xq_err_t take_json(xq_inst_reader_t *r,
                          const char *text,
                          size_t len,
                          size_t at,
                          xq_buf_t *out,
                          size_t *line,
                          bool *got,
                          xq_error_t *err) {
    xq_err_t rc;

    *got = false;
    r->body_mp.len = 0;
    if ((rc = xq_json_to_msgpack(text, len, &r->body_mp, err)) != XQ_OK)
        return rc;
    msgpack_unpacked_destroy(&r->body);
    msgpack_unpacked_init(&r->body);
    xq_mp_unpack_one(r->body_mp.data, r->body_mp.len, &r->body);
    if (is_body(r, &r->body.data)) {
        r->in_body = true;
        r->body_next = 0;
        r->body_line = at;
        *got = next_from_body(r, out, line);
        return XQ_OK;
    }
    xq_buf_append(out, r->body_mp.data, r->body_mp.len);
    *line = at;
    *got = true;
    return XQ_OK;
}

/* The first line is not JSON by itself: the file is one document over many lines. */
static xq_err_t take_document(
    xq_inst_reader_t *r, size_t len, xq_buf_t *out, size_t *line, bool *got, xq_error_t *err) {
    size_t at = r->lineno;
    xq_buf_t doc;
    ssize_t n;
    xq_err_t rc;

    xq_buf_init(&doc);
    xq_buf_append(&doc, r->line, len);
    while ((n = read_line(r, true)) >= 0) {
        if (doc.len + (size_t)n > XQ_INST_MAX_LINE) {
            rc = xq_error_set(err, XQ_ELIMIT, "", "%s: a JSON document longer than %u bytes",
                              r->name, XQ_INST_MAX_LINE);
            goto out;
        }
        xq_buf_append(&doc, "\n", 1);
        xq_buf_append(&doc, r->line, (size_t)n);
    }
    rc = take_json(r, (const char *)doc.data, doc.len, at, out, line, got, err);
out:
    xq_buf_fini(&doc);
    return rc;
}

static xq_err_t
next_json(xq_inst_reader_t *r, xq_buf_t *out, size_t *line, bool *eof, xq_error_t *err) {
    bool got = false;
    xq_err_t rc;
    ssize_t n;

    *eof = false;
    while (!next_from_body(r, out, line)) {
        size_t start = 0;

        if ((n = read_line(r, false)) < 0) {
            *eof = true;
            return ferror(r->f) ? xq_error_set(err, XQ_EIO, "", "%s: %s", r->name, strerror(errno))
                                : XQ_OK;
        }
        while (start < (size_t)n && isspace((unsigned char)r->line[start]))
            start++;
        if (start == (size_t)n)
            continue; /* blank lines are not instances */
        *line = r->lineno;
        if ((size_t)n > XQ_INST_MAX_LINE)
            return xq_error_set(err, XQ_ELIMIT, "", "line %zu: longer than %u bytes", r->lineno,
                                XQ_INST_MAX_LINE);
        if (r->first) {
            xq_buf_t probe;

            r->first = false;
            xq_buf_init(&probe);
            rc = xq_json_to_msgpack(r->line, (size_t)n, &probe, err);
            xq_buf_fini(&probe);
            if (rc != XQ_OK && (r->line[start] == '{' || r->line[start] == '[')) {
                rc = take_document(r, (size_t)n, out, line, &got, err);
                if (rc != XQ_OK || got)
                    return rc;
                continue;
            }
        }
        rc = take_json(r, r->line, (size_t)n, r->lineno, out, line, &got, err);
        if (rc != XQ_OK) {
            char why[XQ_ERR_MSG_SIZE];

            memcpy(why, err->msg, sizeof(why));
            return xq_error_set(err, rc, "", "line %zu: %.200s", r->lineno, why);
        }
        if (got)
            return XQ_OK;
    }
    return XQ_OK;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

xq_err_t xq_inst_reader_new(FILE *f,
                            const char *name,
                            const xq_inst_opts_t *opts,
                            xq_inst_reader_t **out,
                            xq_error_t *err) {
    xq_inst_reader_t *r = xq_calloc(1, sizeof(*r));
    xq_err_t rc = XQ_OK;

    r->f = f;
    r->name = xq_strdup(name);
    r->format = opts ? opts->format : XQ_INST_AUTO;
    if (r->format == XQ_INST_AUTO)
        r->format = ends_with(name, ".csv") ? XQ_INST_CSV : XQ_INST_JSON;
    r->spec = opts ? opts->spec : NULL;
    r->text_fields = opts ? opts->text_fields : NULL;
    r->text_cnt = opts ? opts->text_cnt : 0;
    r->first = true;
    xq_buf_init(&r->body_mp);
    msgpack_unpacked_init(&r->body);
    xq_buf_init(&r->head_pool);
    xq_buf_init(&r->head_offs);
    xq_buf_init(&r->rec);
    if (r->format == XQ_INST_CSV && (rc = read_header(r, err)) != XQ_OK)
        goto out;
    *out = r;
    r = NULL;
out:
    xq_inst_reader_destroy(r);
    return rc;
}

xq_err_t
xq_inst_reader_next(xq_inst_reader_t *r, xq_buf_t *out, size_t *line, bool *eof, xq_error_t *err) {
    *eof = false;
    *line = r->lineno;
    if (r->format == XQ_INST_CSV)
        return next_csv(r, out, line, eof, err);
    return next_json(r, out, line, eof, err);
}

void xq_inst_reader_destroy(xq_inst_reader_t *r) {
    if (!r)
        return;
    xq_free(r->name);
    xq_free(r->line);
    xq_buf_fini(&r->body_mp);
    msgpack_unpacked_destroy(&r->body);
    xq_buf_fini(&r->head_pool);
    xq_buf_fini(&r->head_offs);
    xq_buf_fini(&r->rec);
    xq_free(r->numeric);
    xq_free(r);
}
