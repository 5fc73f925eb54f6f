/* instances.h -- instances as users hold them: JSON lines, {"instances": [...]} bodies, CSV. */
#ifndef XQ_INSTANCES_H
#define XQ_INSTANCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "mem.h"
#include "spec.h"

/*
 * A reader turns a file of instances into one msgpack object per instance,
 * in file order. What it accepts (README "Instances as users have them"):
 * - JSON lines: one instance a line (an object of features, or a bare value or
 *   array for a spec of one input), blank lines skipped; a line that is a
 *   Vertex request body {"instances": [...]} (with "parameters" allowed) gives
 *   its instances one by one;
 * - one JSON document over several lines, {"instances": [...]};
 * - CSV with a header line (RFC 4180 quoting): each row becomes an object
 *   keyed by the header; a cell is parsed as a number where the spec expects
 *   one (every metadata input, or every column without metadata, except the
 *   text columns the caller names), an empty cell is null (a missing value).
 * Values stay as they are otherwise: numbers as strings and nulls are read by
 * the layout (layout.h), the same for every path an instance takes.
 */

typedef enum xq_inst_format {
    XQ_INST_AUTO = 0, /* CSV when the name ends in .csv, else JSON */
    XQ_INST_JSON,     /* JSON lines or one {"instances": [...]} document */
    XQ_INST_CSV,      /* CSV with a header */
} xq_inst_format_t;

/** Largest line or JSON document a reader takes. */
#define XQ_INST_MAX_LINE (64u << 20)

/** Options of xq_inst_reader_new(); zero is the default. */
typedef struct xq_inst_opts {
    xq_inst_format_t format;
    const xq_spec_t *spec;          /* decides which CSV columns are numbers; may be NULL */
    const char *const *text_fields; /* CSV columns kept as strings (keys, ids) */
    size_t text_cnt;
} xq_inst_opts_t;

typedef struct xq_inst_reader xq_inst_reader_t; /* opaque */

/**
 * A reader of @p f (borrowed, read from where it is; not closed), named
 * @p name in errors and for XQ_INST_AUTO. For CSV the header is read at once.
 *
 * @returns XQ_OK and a new reader in @p *out (free with
 *          xq_inst_reader_destroy()), or XQ_EINVAL / XQ_EIO with @p err.
 */
xq_err_t xq_inst_reader_new(
    FILE *f, const char *name, const xq_inst_opts_t *opts, xq_inst_reader_t **out, xq_error_t *err);

/**
 * Appends the next instance to @p out as one msgpack object.
 *
 * @returns XQ_OK with @p *eof false and the instance appended, XQ_OK with
 *          @p *eof true at the end, or an error for this instance alone
 *          (XQ_EINVAL/XQ_EDECODE, @p err naming "line L" or "line L, column C
 *          (name)"; nothing appended; the next call goes on with the next
 *          instance) or XQ_EIO (reading failed; stop).
 *          @p *line is the input line the instance starts on (from 1).
 */
xq_err_t
xq_inst_reader_next(xq_inst_reader_t *r, xq_buf_t *out, size_t *line, bool *eof, xq_error_t *err);

/** Frees @p r; NULL is a no-op. */
void xq_inst_reader_destroy(xq_inst_reader_t *r);

/**
 * Reads @p len bytes at @p s as a decimal number, strictly: an optional sign,
 * digits with an optional point, an optional exponent; nothing else (no
 * blanks, hex, inf or nan) and a finite result.
 */
bool xq_inst_number(const char *s, size_t len, double *out);

/**
 * Splits one CSV record from @p s (@p len bytes) into fields: appends each
 * field's unquoted bytes to @p pool NUL-terminated and its offset in @p pool
 * to @p offs (size_t values). @p *used is set to the bytes consumed
 * (including the line end).
 *
 * @returns 1 when a whole record was read, 0 when @p s ends inside quotes
 *          (more lines are needed), -1 on a stray quote (@p *col the 1-based
 *          field where it is).
 */
int xq_inst_csv_record(
    const char *s, size_t len, xq_buf_t *pool, xq_buf_t *offs, size_t *used, size_t *col);

#endif /* XQ_INSTANCES_H */
