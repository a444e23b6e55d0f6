//! A token count for a provider that reports none: about four characters per
//! token, the rule of thumb of OpenAI's tokenizer documentation for English
//! text. Always marked `estimated`, so nobody mistakes it for a bill.

use crate::conversation::Usage;

/// Characters per token assumed by the estimate.
pub const CHARS_PER_TOKEN: usize = 4;

fn tokens(chars: usize) -> u64 {
    chars.div_ceil(CHARS_PER_TOKEN) as u64
}

/// The estimated usage of a prompt made of `prompt` (system prompt, history,
/// the new message) answered with `answer`.
pub fn estimate<'a>(prompt: impl IntoIterator<Item = &'a str>, answer: &str) -> Usage {
    let prompt: usize = prompt.into_iter().map(|p| p.chars().count()).sum();
    Usage {
        prompt_tokens: tokens(prompt),
        completion_tokens: tokens(answer.chars().count()),
        estimated: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_characters_a_token_rounded_up() {
        let u = estimate(["12345678", "é"], "abcde");
        assert_eq!((u.prompt_tokens, u.completion_tokens), (3, 2));
        assert!(u.estimated);
        assert_eq!(estimate(["x"], "").completion_tokens, 0);
    }
}
