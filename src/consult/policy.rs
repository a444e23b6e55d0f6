//! Whether one `ask_colleague` call may go ahead: the whole policy, as a
//! pure function of the call, whom this chat may ask, the chain it is part
//! of and what it has spent. The loop ([`super::run`]) only applies it.
//!
//! Checked in this order, the first that fails is the answer: the tool is
//! `ask_colleague`; its arguments are `{name, question}`; `name` is one of
//! the chat's colleagues; it is not already in the chain (no cycles); the
//! consultation would not nest deeper than the chain allows; budget is left
//! (this chat's own, and the whole tree's).

use std::fmt;

use super::chain::Chain;
use super::tool::{Ask, TOOL_NAME, parse};
use crate::provider::ToolCall;

/// Why a call was refused: the text the model receives as the tool's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    UnknownTool(String),
    BadArguments(String),
    NotAColleague { name: String, offered: Vec<String> },
    Cycle { name: String, path: String },
    TooDeep { depth: usize, max: u8 },
    BudgetSpent { budget: u32 },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownTool(name) => {
                write!(
                    f,
                    "there is no tool `{name}`; the one tool is `{TOOL_NAME}`"
                )
            }
            Refusal::BadArguments(why) => write!(
                f,
                "`{TOOL_NAME}` takes {{\"name\": \"<colleague>\", \"question\": \"<text>\"}}: {why}"
            ),
            Refusal::NotAColleague { name, offered } => write!(
                f,
                "`{name}` is not one of your colleagues; you may ask: {}",
                offered.join(", ")
            ),
            Refusal::Cycle { name, path } => write!(
                f,
                "{name} is already part of this consultation ({path} → {name}); answer with what you know"
            ),
            Refusal::TooDeep { depth, max } => write!(
                f,
                "consultations nest at most {max} deep and this one would be {depth} deep; answer with what you know"
            ),
            Refusal::BudgetSpent { budget } => write!(
                f,
                "this chat has used all {budget} of its consultations; answer with what you know"
            ),
        }
    }
}

/// What this chat may do and has done.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    /// This chat's own `budget`.
    pub budget: u32,
    /// Consultations this chat has made so far.
    pub used: u32,
}

/// The verdict on one call. On `Ok` the caller still takes one from the
/// shared budget ([`Chain::take`]); losing that race to a sibling chat is a
/// [`Refusal::BudgetSpent`] too.
pub fn decide(
    call: &ToolCall,
    offered: &[String],
    chain: &Chain,
    allowance: Allowance,
) -> Result<Ask, Refusal> {
    if call.name != TOOL_NAME {
        return Err(Refusal::UnknownTool(call.name.clone()));
    }
    let ask = parse(&call.arguments).map_err(Refusal::BadArguments)?;
    refuse(&ask, offered, chain, allowance).map_or(Ok(ask), Err)
}

/// The refusal of a well-formed ask, if any (the checks after parsing).
pub fn refuse(ask: &Ask, offered: &[String], chain: &Chain, a: Allowance) -> Option<Refusal> {
    if !offered.contains(&ask.name) {
        return Some(Refusal::NotAColleague {
            name: ask.name.clone(),
            offered: offered.to_vec(),
        });
    }
    if chain.contains(&ask.name) {
        return Some(Refusal::Cycle {
            name: ask.name.clone(),
            path: chain.describe(),
        });
    }
    let depth = chain.next_depth();
    if depth > usize::from(chain.max_depth()) {
        return Some(Refusal::TooDeep {
            depth,
            max: chain.max_depth(),
        });
    }
    if a.used >= a.budget || chain.left() == 0 {
        return Some(Refusal::BudgetSpent { budget: a.budget });
    }
    None
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::{Consult, SpecialistName};

    fn n(s: &str) -> SpecialistName {
        SpecialistName::parse(s).unwrap()
    }

    fn consult(max_depth: u8, budget: u32) -> Consult {
        Consult {
            max_depth,
            budget,
            ..Consult::default()
        }
    }

    fn call(name: &str, args: serde_json::Value) -> ToolCall {
        ToolCall {
            id: "c".into(),
            name: name.into(),
            arguments: args,
        }
    }

    fn ask(to: &str) -> ToolCall {
        call(TOOL_NAME, json!({"name": to, "question": "why?"}))
    }

    const FREE: Allowance = Allowance { budget: 4, used: 0 };

    #[test]
    fn the_table() {
        let offered: Vec<String> = ["penia", "telos", "numa"].map(String::from).to_vec();
        let root = Chain::root(n("numa"), &consult(2, 4));
        let at_penia = root.enter(n("penia"), Some(&consult(2, 4)));
        let at_telos = at_penia.enter(n("telos"), None);
        type Case<'a> = (
            &'a str,
            ToolCall,
            &'a Chain,
            Allowance,
            Result<&'a str, Refusal>,
        );
        let cases: Vec<Case> = vec![
            ("a colleague", ask("penia"), &root, FREE, Ok("penia")),
            (
                "another tool",
                call("search", json!({})),
                &root,
                FREE,
                Err(Refusal::UnknownTool("search".into())),
            ),
            (
                "not a colleague",
                ask("lyra"),
                &root,
                FREE,
                Err(Refusal::NotAColleague {
                    name: "lyra".into(),
                    offered: offered.clone(),
                }),
            ),
            (
                "asking oneself",
                ask("numa"),
                &root,
                FREE,
                Err(Refusal::Cycle {
                    name: "numa".into(),
                    path: "numa".into(),
                }),
            ),
            (
                "A → B → A",
                ask("numa"),
                &at_penia,
                FREE,
                Err(Refusal::Cycle {
                    name: "numa".into(),
                    path: "numa → penia".into(),
                }),
            ),
            (
                "depth 2 is allowed",
                ask("telos"),
                &at_penia,
                FREE,
                Ok("telos"),
            ),
            (
                "not offered, whatever the depth",
                ask("lyra"),
                &at_telos,
                FREE,
                Err(Refusal::NotAColleague {
                    name: "lyra".into(),
                    offered: offered.clone(),
                }),
            ),
            (
                "own budget spent",
                ask("penia"),
                &root,
                Allowance { budget: 4, used: 4 },
                Err(Refusal::BudgetSpent { budget: 4 }),
            ),
        ];
        for (what, c, chain, a, want) in cases {
            let got = decide(&c, &offered, chain, a).map(|ask| ask.name);
            assert_eq!(got.as_deref().map_err(Clone::clone), want, "{what}");
        }
        let mut offered_lyra = offered.clone();
        offered_lyra.push("lyra".into());
        assert_eq!(
            decide(&ask("lyra"), &offered_lyra, &at_telos, FREE).map(|a| a.name),
            Err(Refusal::TooDeep { depth: 3, max: 2 })
        );
    }

    #[test]
    fn the_tightest_depth_along_the_chain_holds() {
        let root = Chain::root(n("numa"), &consult(5, 4));
        let at_penia = root.enter(n("penia"), Some(&consult(1, 4)));
        let offered = vec!["telos".to_owned()];
        assert_eq!(
            decide(&ask("telos"), &offered, &at_penia, FREE).map(|a| a.name),
            Err(Refusal::TooDeep { depth: 2, max: 1 })
        );
    }

    #[test]
    fn the_tree_shares_one_budget() {
        let root = Chain::root(n("numa"), &consult(3, 2));
        let at_penia = root.enter(n("penia"), Some(&consult(3, 9)));
        assert!(root.take() && at_penia.take());
        assert!(!root.take(), "two were taken of two");
        let offered = vec!["telos".to_owned()];
        assert_eq!(
            decide(&ask("telos"), &offered, &at_penia, FREE).map(|a| a.name),
            Err(Refusal::BudgetSpent { budget: 4 })
        );
    }

    #[test]
    fn refusals_say_what_to_do() {
        let r = Refusal::Cycle {
            name: "numa".into(),
            path: "numa → penia".into(),
        };
        assert_eq!(
            r.to_string(),
            "numa is already part of this consultation (numa → penia → numa); answer with what you know"
        );
        assert!(
            Refusal::BadArguments("`name` is missing".into())
                .to_string()
                .contains("\"question\"")
        );
    }

    /// Any JSON value, leaning to the shapes of `ask_colleague` arguments.
    pub(in crate::consult) fn arb_json()
    -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            ".{0,12}".prop_map(serde_json::Value::from),
            prop_oneof![Just("penia"), Just("numa"), Just(" penia "), Just("")]
                .prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::from),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("name".to_owned()),
                        Just("question".to_owned()),
                        ".{0,5}"
                    ],
                    inner,
                    0..3
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Whatever a model sends as arguments, the verdict is an ask of an
        /// offered colleague outside the chain, or a refusal: never a panic.
        #[test]
        fn any_arguments_get_a_verdict(args in arb_json(), used in 0u32..6) {
            let offered = vec!["penia".to_owned(), "numa".to_owned()];
            let root = Chain::root(n("numa"), &consult(2, 4));
            let a = Allowance { budget: 4, used };
            match decide(&call(TOOL_NAME, args), &offered, &root, a) {
                Ok(ask) => {
                    proptest::prop_assert_eq!(ask.name.as_str(), "penia");
                    proptest::prop_assert!(!ask.question.is_empty() && used < 4);
                }
                Err(r) => proptest::prop_assert!(!r.to_string().is_empty()),
            }
        }
    }
}
