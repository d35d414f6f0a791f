//! `ctx watch`: commit the live files after they have been quiet for a while.
