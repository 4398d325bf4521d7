//! moment.js `format()` tokens over a jiff `Zoned` time, for `{{date '...'}}` and `{{commit_date '...'}}`.
//! (Being written; see the helper brief.)
