/* numfmt.c -- shortest round-trip "%g" text: double-conversion's digits, printf's where they
 * could differ. */
#include "numfmt.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dconv_shim.h"

/*
 * Why one printf() is enough. s17, the value correctly rounded to 17
 * significant digits, is what "%.16e" prints. For p < 17, rounding s17 to p
 * digits gives the value correctly rounded to p digits, except when s17 lies
 * exactly on a p-digit midpoint (its digits past p are "5" and zeros): every
 * midpoint has at most 17 digits, so the exact value and s17 cannot lie on
 * opposite sides of one. Only then is printf() asked again, at p digits.
 */

/* The @p p digits of @p d correctly rounded into dig (no point), and the exponent of the first. */
static void round_digits(double d, const char *d17, int e17, int p, char *dig, int *exp10) {
    bool tie = d17[p] == '5';

    for (int i = p + 1; i < 17 && tie; i++)
        tie = d17[i] == '0';
    if (tie) { /* the one case s17 cannot settle: printf() rounds the exact value */
        char tmp[XQ_NUMFMT_SIZE];

        snprintf(tmp, sizeof(tmp), "%.*e", p - 1, fabs(d));
        dig[0] = tmp[0];
        memcpy(dig + 1, tmp + 2, (size_t)p - 1);
        *exp10 = (int)strtol(strchr(tmp, 'e') + 1, NULL, 10);
        return;
    }
    memcpy(dig, d17, (size_t)p);
    *exp10 = e17;
    if (d17[p] < '5')
        return;
    for (int i = p - 1; i >= 0; i--) {
        if (dig[i] != '9') {
            dig[i]++;
            return;
        }
        dig[i] = '0';
    }
    dig[0] = '1'; /* 9.99 -> 10.0: one more digit before the point */
    (*exp10)++;
}

/* "%.*g" of the p digits and exponent: fixed or scientific as C says, trailing zeros dropped. */
static size_t format_g(char *buf, bool neg, const char *dig, int p, int x) {
    size_t n = 0;
    int last = p; /* digits kept: trailing zeros go */

    while (last > 1 && dig[last - 1] == '0')
        last--;
    if (neg)
        buf[n++] = '-';
    if (x < -4 || x >= p) {
        buf[n++] = dig[0];
        if (last > 1) {
            buf[n++] = '.';
            memcpy(buf + n, dig + 1, (size_t)last - 1);
            n += (size_t)last - 1;
        }
        n += (size_t)snprintf(buf + n, XQ_NUMFMT_SIZE - n, "e%c%02d", x < 0 ? '-' : '+', abs(x));
        return n;
    }
    if (x < 0) {
        buf[n++] = '0';
        buf[n++] = '.';
        for (int i = 0; i < -x - 1; i++)
            buf[n++] = '0';
        memcpy(buf + n, dig, (size_t)last);
        n += (size_t)last;
    } else {
        for (int i = 0; i <= x; i++)
            buf[n++] = i < last ? dig[i] : '0';
        if (last > x + 1) {
            buf[n++] = '.';
            memcpy(buf + n, dig + x + 1, (size_t)(last - x - 1));
            n += (size_t)(last - x - 1);
        }
    }
    buf[n] = '\0';
    return n;
}

/* The definition, from one "%.16e" (about 1 us a number: the slow path). */
static size_t shortest_printf(char *buf, double d, bool is_f32) {
    char s17[XQ_NUMFMT_SIZE], d17[17], dig[17];
    int e17, x;
    size_t n = 0;

    if (d == 0) /* "0" or "-0" at every precision */
        return (size_t)snprintf(buf, XQ_NUMFMT_SIZE, "%g", d);
    snprintf(s17, sizeof(s17), "%.16e", fabs(d));
    d17[0] = s17[0];
    memcpy(d17 + 1, s17 + 2, 16);
    e17 = (int)strtol(strchr(s17, 'e') + 1, NULL, 10);
    for (int p = is_f32 ? 6 : 15; p <= 17; p++) {
        if (p == 17) {
            memcpy(dig, d17, 17);
            x = e17;
        } else {
            round_digits(d, d17, e17, p, dig, &x);
        }
        n = format_g(buf, d < 0, dig, p, x);
        if (is_f32 ? strtof(buf, NULL) == (float)d : strtod(buf, NULL) == d)
            break;
    }
    return n;
}

/*
 * Why double-conversion's shortest digits D (n of them) are the answer. Reading back is the
 * test, and no p below n passes it (D is shortest). For n <= pmin (6 for a float, 15 for a
 * double), "%.{pmin}g" is D itself: D lies within half an ulp of d (under 6e-8 of it for a
 * float, 1.2e-16 for a double), closer than any rounding boundary at pmin digits (5e-7, 5e-16).
 * For n > pmin, "%.{n}g" is d correctly rounded to n digits, which is D when the two agree;
 * where an asymmetric interval (at a power of two) lets them differ, or d lies exactly on a
 * tie at n digits (printf rounds ties to even), printf decides, as before, and for subnormals,
 * whose ulps are too wide for the argument. Each answer is the same bytes as the definition, at a
 * fraction of the time.
 */
size_t xq_numfmt_shortest(char *buf, double d, bool is_f32) {
    char dig[XQ_DCONV_DIGITS], r[XQ_DCONV_DIGITS];
    int n, p, point, rpoint, pmin = is_f32 ? 6 : 15;

    if (d == 0) /* "0" or "-0" at every precision */
        return (size_t)snprintf(buf, XQ_NUMFMT_SIZE, "%g", d);
    if (fabs(d) < (is_f32 ? (double)FLT_MIN : DBL_MIN)) /* subnormal: ulps too wide for the above */
        return shortest_printf(buf, d, is_f32);
    n = xq_dconv_shortest(d, is_f32, dig, &point);
    if (n > pmin) {
        /* an exact tie at n digits (d's expansion ends in a 5 right after them): printf rounds
         * it to even, double-conversion away from zero */
        if (n < 17 && xq_dconv_precision(d, 17, r, &rpoint) == n + 1 && r[n] == '5')
            return shortest_printf(buf, d, is_f32);
        if (xq_dconv_precision(d, n, r, &rpoint) != n || rpoint != point ||
            memcmp(r, dig, (size_t)n) != 0)
            return shortest_printf(buf, d, is_f32);
    }
    for (int i = n; i < pmin; i++) /* format_g() reads p digits and drops the zeros again */
        dig[i] = '0';
    p = n > pmin ? n : pmin;
    return format_g(buf, d < 0, dig, p, point - 1);
}
