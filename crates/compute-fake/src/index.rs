//! Secondary indexes: interned tag pairs with their posting lists, and per-location lists.
//!
//! Every posting list holds slot numbers in ascending order. Slots only grow, so adding
//! an instance appends; the rare removal (a tag update) is a binary search.

use std::collections::HashMap;

/// Adds `slot` to a sorted posting list.
pub(crate) fn post(list: &mut Vec<u32>, slot: u32) {
    match list.last() {
        Some(&last) if last >= slot => {
            if let Err(at) = list.binary_search(&slot) {
                list.insert(at, slot);
            }
        }
        _ => list.push(slot),
    }
}

/// Removes `slot` from a sorted posting list.
pub(crate) fn unpost(list: &mut Vec<u32>, slot: u32) {
    if let Ok(at) = list.binary_search(&slot) {
        list.remove(at);
    }
}

/// Tag pairs interned to `u32` ids, each with the slots carrying it.
#[derive(Debug, Default)]
pub(crate) struct TagIndex {
    ids: HashMap<Box<str>, HashMap<Box<str>, u32>>,
    pairs: Vec<(Box<str>, Box<str>)>,
    postings: Vec<Vec<u32>>,
}

impl TagIndex {
    /// Returns the id of a pair, interning it when new.
    pub(crate) fn intern(&mut self, key: &str, value: &str) -> u32 {
        if let Some(id) = self.lookup(key, value) {
            return id;
        }
        let id = u32::try_from(self.pairs.len()).unwrap_or(u32::MAX);
        self.pairs.push((key.into(), value.into()));
        self.postings.push(Vec::new());
        self.ids
            .entry(key.into())
            .or_default()
            .insert(value.into(), id);
        id
    }

    /// Returns the id of a pair, when some instance ever carried it.
    pub(crate) fn lookup(&self, key: &str, value: &str) -> Option<u32> {
        self.ids.get(key)?.get(value).copied()
    }

    /// Returns the key and value of a pair.
    pub(crate) fn pair(&self, id: u32) -> Option<(&str, &str)> {
        let (k, v) = self.pairs.get(id as usize)?;
        Some((k, v))
    }

    /// Returns the slots carrying a pair, ascending.
    pub(crate) fn slots(&self, id: u32) -> &[u32] {
        self.postings.get(id as usize).map_or(&[], Vec::as_slice)
    }

    /// Records that `slot` carries `id`.
    pub(crate) fn add(&mut self, id: u32, slot: u32) {
        if let Some(list) = self.postings.get_mut(id as usize) {
            post(list, slot);
        }
    }

    /// Records that `slot` no longer carries `id`.
    pub(crate) fn remove(&mut self, id: u32, slot: u32) {
        if let Some(list) = self.postings.get_mut(id as usize) {
            unpost(list, slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postings_stay_sorted() {
        let mut list = Vec::new();

        for slot in [1, 5, 3, 9, 5] {
            post(&mut list, slot);
        }
        unpost(&mut list, 3);

        assert_eq!(list, [1, 5, 9]);
    }

    #[test]
    fn pairs_intern_once() {
        let mut index = TagIndex::default();

        let a = index.intern("team", "ml");
        let b = index.intern("team", "infra");
        let again = index.intern("team", "ml");
        index.add(a, 4);
        index.add(a, 2);

        assert_eq!(a, again);
        assert_ne!(a, b);
        assert_eq!(index.pair(b), Some(("team", "infra")));
        assert_eq!(index.slots(a), [2, 4]);
        assert_eq!(index.lookup("team", "none"), None);
        assert!(index.slots(99).is_empty());
    }
}
