// dconv_shim.cc -- a C bridge to double-conversion's DoubleToAscii (the library behind V8's and
// Firefox's number printing): shortest and fixed-precision digits without printf.
#include "dconv_shim.h"

#include <double-conversion/double-to-string.h>

using double_conversion::DoubleToStringConverter;

extern "C" int xq_dconv_shortest(double d, bool single, char *digits, int *point) {
    bool sign;
    int len;

    DoubleToStringConverter::DoubleToAscii(
        d, single ? DoubleToStringConverter::SHORTEST_SINGLE : DoubleToStringConverter::SHORTEST, 0,
        digits, XQ_DCONV_DIGITS, &sign, &len, point);
    return len;
}

extern "C" int xq_dconv_precision(double d, int p, char *digits, int *point) {
    bool sign;
    int len;

    DoubleToStringConverter::DoubleToAscii(d, DoubleToStringConverter::PRECISION, p, digits,
                                           XQ_DCONV_DIGITS, &sign, &len, point);
    return len;
}
