//! How many values serve's labels take: a process or container name is the user's data, so
//! each label keeps a bounded number of distinct values and folds the rest into `other`.

use std::collections::HashSet;

/// The label value that stands for every value past the cap.
pub const OTHER: &str = "other";

/// Bounds the values one label takes: the first `max` distinct values are kept as they are,
/// later ones become `other`. A value once admitted stays admitted, so its counters stay
/// monotonic.
#[derive(Debug)]
pub struct LabelCap {
    admitted: HashSet<String>,
    max: usize,
}

impl LabelCap {
    pub fn new(max: usize) -> LabelCap {
        LabelCap {
            admitted: HashSet::new(),
            max,
        }
    }

    pub fn admit(&mut self, value: &str) -> String {
        // The empty value (unknown) costs no slot.
        if value.is_empty() || self.admitted.contains(value) {
            return value.to_string();
        }
        if self.admitted.len() < self.max {
            self.admitted.insert(value.to_string());
            return value.to_string();
        }
        OTHER.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_label_values_and_keeps_admitted_ones() {
        let mut cap = LabelCap::new(2);
        assert_eq!(cap.admit("curl"), "curl");
        assert_eq!(cap.admit("wget"), "wget");
        assert_eq!(cap.admit("nc"), OTHER);
        assert_eq!(cap.admit("curl"), "curl");
        assert_eq!(cap.admit(""), "");
    }
}
