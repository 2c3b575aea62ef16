//! Shannon entropy, the measure rules use to tell random keys from words.

/// Shannon entropy of `bytes` in bits per byte (0 for empty input, at most 8).
pub fn shannon_entropy(bytes: &[u8]) -> f32 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &byte in bytes {
        counts[byte as usize] += 1;
    }
    let total = bytes.len() as f32;
    counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = count as f32 / total;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::shannon_entropy;

    #[test]
    fn uniform_and_constant_inputs() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert_eq!(shannon_entropy(b"aaaaaaaa"), 0.0);
        assert!((shannon_entropy(b"abcdefgh") - 3.0).abs() < 1e-5);
        assert!((shannon_entropy(b"ab") - 1.0).abs() < 1e-5);
    }

    #[test]
    fn random_keys_score_higher_than_words() {
        assert!(shannon_entropy(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ1a2b3c4d") > 4.5);
        assert!(shannon_entropy(b"password_password") < 3.0);
    }
}
