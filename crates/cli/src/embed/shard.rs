//! `--shard I/N`: which files this run takes, so that N machines split a corpus without
//! talking to each other.
//!
//! A file belongs to shard `fingerprint(path) mod N`, its path being the one written in
//! the metadata (`Chest/Atelectasis/img1.png`): the same on every machine whatever the
//! mount point, independent of walk order and of the other files, so adding files to
//! the corpus moves none of those already there to another shard.

use std::fmt;

/// Share `index` of `count` (0-based, as Kubernetes' `JOB_COMPLETION_INDEX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole corpus.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Whether the file at `path` is this shard's.
    pub fn takes(self, path: &str) -> bool {
        medinsight_core::fingerprint(path.as_bytes()) % self.count as u64 == self.index as u64
    }

    /// The shard's folder under `--out`.
    pub fn folder(self) -> String {
        format!("shard-{:04}-of-{:04}", self.index, self.count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `--shard I/N` with `0 ≤ I < N`.
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: expected I/N, e.g. 0/4 for the first of four"))?;
    let num = |x: &str| {
        x.trim()
            .parse::<usize>()
            .map_err(|_| format!("{x:?} is not a whole number"))
    };
    let (index, count) = (num(i)?, num(n)?);
    if count == 0 || index >= count {
        return Err(format!(
            "{s:?}: I counts from 0 and must be below N (0/{count} … {}/{count})",
            count.saturating_sub(1)
        ));
    }
    Ok(Shard { index, count })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_with_the_rule_named() {
        assert_eq!(parse_shard("2/3"), Ok(Shard { index: 2, count: 3 }));
        assert!(parse_shard("3/3").unwrap_err().contains("below N"));
        assert!(parse_shard("0/0").is_err());
        assert!(parse_shard("1-3").unwrap_err().contains("I/N"));
        assert_eq!(
            Shard {
                index: 1,
                count: 12
            }
            .folder(),
            "shard-0001-of-0012"
        );
    }

    #[test]
    fn every_path_falls_in_exactly_one_shard_and_shares_are_even() {
        let paths: Vec<String> = (0..3000)
            .map(|i| format!("Label{}/img{i}.png", i % 7))
            .collect();
        let mut sizes = [0usize; 3];
        for p in &paths {
            let owners: Vec<usize> = (0..3)
                .filter(|&index| Shard { index, count: 3 }.takes(p))
                .collect();
            assert_eq!(owners.len(), 1, "{p}");
            sizes[owners[0]] += 1;
        }
        assert!(sizes.iter().all(|&n| (800..1200).contains(&n)), "{sizes:?}");
        assert!(paths.iter().all(|p| Shard::ALL.takes(p)));
    }
}
