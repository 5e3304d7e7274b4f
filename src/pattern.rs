//! Names typed by people: whole-text wildcard patterns (tap selectors,
//! image globs) and the closest known names for a name that does not exist
//! (so an error can say "did you mean …?").

/// Whole-text wildcard match: `*` matches any run of characters, `?` any
/// one character, everything else literally (tap selectors, file globs).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The names among `candidates` closest to `name` (edit distance, then
/// substring match), at most `n` of them.
pub fn closest_names<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>, n: usize) -> Vec<String> {
    let lower = name.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| {
            let cl = c.to_lowercase();
            let mut d = edit_distance(&lower, &cl);
            if cl.contains(&lower) || lower.contains(&cl) {
                d = d.min(lower.len().abs_diff(cl.len()) / 2);
            }
            (d, c)
        })
        .collect();
    scored.sort();
    let limit = (name.len() / 2).max(3);
    scored.into_iter().filter(|(d, _)| *d <= limit).take(n).map(|(_, c)| c.to_string()).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(glob_match("/_blocks.*/Conv", "/_blocks.3/Conv"));
        assert!(glob_match("*Clip", "/_blocks.8/_swish/Clip"));
        assert!(!glob_match("*Clip", "/_blocks.8/_swish/Conv"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(glob_match("c?t*", "cat.png"));
        assert!(glob_match("*.png", "cat.png"));
        assert!(!glob_match("*.png", "cat.jpg"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("conv", "conv"), 0);
    }

    #[test]
    fn suggestions_prefer_near_names() {
        let names = ["/_conv_stem/Conv", "/_conv_head/Conv", "/_blocks.0/_depthwise_conv/Conv"];
        let s = closest_names("/_conv_stem/Cnv", names.iter().copied(), 2);
        assert_eq!(s[0], "/_conv_stem/Conv");
    }
}
