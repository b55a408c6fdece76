//! Secondary indexes: interned tag pairs with their posting lists, and per-location lists.
//!
//! Every posting list holds slot numbers in ascending order. Slots only grow, so adding
//! an instance appends; the rare removal (a tag update) is a binary search.

use std::sync::OnceLock;

use compute_types::{Result, Tags};

use crate::hash::FastMap;

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
    ids: FastMap<Box<str>, FastMap<Box<str>, u32>>,
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

/// One distinct set of tag pairs, sorted, with its tags built once it is shared.
#[derive(Debug)]
pub(crate) struct TagSet {
    pub(crate) pairs: Box<[u32]>,
    uses: u32,
    built: OnceLock<Tags>,
}

/// Distinct tag sets, interned: instances of one cluster and job share one.
#[derive(Debug, Default)]
pub(crate) struct TagSets {
    sets: Vec<TagSet>,
    index: FastMap<Box<[u32]>, u32>,
}

impl TagSets {
    /// Returns the id of the set of `pairs`, interning it when new.
    pub(crate) fn intern(&mut self, mut pairs: Vec<u32>) -> u32 {
        pairs.sort_unstable();
        pairs.dedup();
        if let Some(&id) = self.index.get(pairs.as_slice()) {
            if let Some(set) = self.sets.get_mut(id as usize) {
                set.uses = set.uses.saturating_add(1);
            }
            return id;
        }
        let id = u32::try_from(self.sets.len()).unwrap_or(u32::MAX);
        let pairs: Box<[u32]> = pairs.into_boxed_slice();
        self.index.insert(pairs.clone(), id);
        self.sets.push(TagSet {
            pairs,
            uses: 1,
            built: OnceLock::new(),
        });
        id
    }

    /// Builds the tags of a set.
    ///
    /// # Errors
    /// `InvalidRequest` when stored pairs no longer make valid tags (a bug).
    ///
    /// A set used by several instances keeps its built tags, so reading it is a clone; a
    /// set of one instance is built on each read, which keeps memory per instance low.
    pub(crate) fn tags(&self, id: u32, index: &TagIndex) -> Result<Tags> {
        let Some(set) = self.get(id) else {
            return Ok(Tags::new());
        };
        if let Some(tags) = set.built.get() {
            return Ok(tags.clone());
        }
        let mut tags = Tags::new();
        for &pair in &set.pairs {
            if let Some((k, v)) = index.pair(pair) {
                tags.insert_reserved(k, v)?;
            }
        }
        if set.uses > 1 {
            let _ = set.built.set(tags.clone());
        }
        Ok(tags)
    }

    /// Returns a set.
    pub(crate) fn get(&self, id: u32) -> Option<&TagSet> {
        self.sets.get(id as usize)
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

    #[test]
    fn tag_sets_intern_in_any_order() {
        let mut index = TagIndex::default();
        let a = index.intern("team", "ml");
        let b = index.intern("env", "prod");
        let mut sets = TagSets::default();

        let one = sets.intern(vec![a, b]);
        let two = sets.intern(vec![b, a, b]);

        assert_eq!(one, two);
        assert_eq!(sets.tags(one, &index).unwrap().get("team"), Some("ml"));
        assert_eq!(sets.get(one).unwrap().pairs.len(), 2);
    }
}
