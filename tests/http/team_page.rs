//! The team page with a team of teams.d, in real headless Chromium
//! (DESIGN §12): choose `council` in the selector, send, and round 1, round
//! 2 and the synthesis appear live; a member made slow shows as silent in
//! round 1 (its timeout) while the others' round goes on, and it is back in
//! round 2. `/t/NAME` opens the page with the team chosen.
//! Port range of this file: 48230-48239 (specialists); HTTP and chromedriver on port 0.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::browser::{browser, until};
use crate::fixture::http::{client, up_http};
use crate::fixture::provider::Kind;
use crate::fixture::team::{Act, TeamProvider};

const WAIT: Duration = Duration::from_secs(40);

async fn js(c: &Client, expr: &str) -> Value {
    c.execute(&format!("return ({expr});"), vec![])
        .await
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
}

/// The text of member `name`'s answer in round `round`.
async fn answer(c: &Client, round: u8, name: &str) -> String {
    let q = format!(
        "(document.querySelector('.round[data-round=\"{round}\"] .turn[data-specialist=\"{name}\"] .answer') || {{}}).textContent || ''"
    );
    js(c, &q).await.as_str().unwrap_or("").trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn council_rounds_and_synthesis_appear_and_a_slow_member_is_silent() {
    let Some(driver) = browser().await else {
        return;
    };
    let provider = TeamProvider::start(Kind::Ollama).await;
    let members = ["metis", "numa", "penia", "telos"];
    let p = provider.project([48230, 48239], &members);
    p.put(
        "teams.d/council.toml",
        "title = \"Council\"\nmembers = [\"penia\", \"telos\", \"metis\"]\nmode = \"discussion\"\n\
         rounds = 2\nmoderator = \"numa\"\nmember_timeout = \"2s\"\n",
    );
    // metis would take a minute in round 1: far past its 2 s, so it is silent there.
    provider.script(
        "metis",
        vec![
            Act::Slow(Duration::from_secs(60), "too late".into()),
            Act::Say("metis answers (2)".into()),
        ],
    );
    provider.script(
        "numa",
        vec![Act::Say("**The council**: ship the budget view.".into())],
    );
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&members).await;
    let c = driver.client();

    c.goto(&web.url("/")).await.unwrap();
    let listed = "!!document.querySelector('#team-select option[value=\"council\"]')";
    assert!(until(c, listed, WAIT).await, "council never listed");
    let select = c.find(Locator::Css("#team-select")).await.unwrap();
    select.select_by_value("council").await.unwrap();
    assert_eq!(js(c, "location.pathname").await, "/t/council");
    assert_eq!(
        js(c, "document.getElementById('team-send').textContent").await,
        "Ask council"
    );
    let input = c.find(Locator::Css("#team-message")).await.unwrap();
    input
        .send_keys("What should we ship first?\u{E007}")
        .await
        .unwrap();

    // Round 1 shows penia and telos answering while metis is still pending.
    let r1 = "document.querySelectorAll('.round[data-round=\"1\"] .turn[data-state=answered]').length === 2";
    assert!(until(c, r1, WAIT).await, "round 1 never showed two answers");
    assert_eq!(answer(c, 1, "penia").await, "penia answers (1)");
    assert_eq!(answer(c, 1, "telos").await, "telos answers (1)");

    let done = "document.getElementById('summary').dataset.done === '1'";
    assert!(
        until(c, done, WAIT).await,
        "the run never finished (held by the slow member?)"
    );
    let silent = answer(c, 1, "metis").await;
    assert!(silent.starts_with("silent: timeout"), "{silent}");
    assert_eq!(
        js(c, "document.querySelector('.round[data-round=\"1\"] .turn[data-specialist=\"metis\"]').dataset.state").await,
        "silent"
    );
    for m in ["penia", "telos", "metis"] {
        assert_eq!(
            answer(c, 2, m).await,
            format!("{m} answers (2)"),
            "round 2 of {m}"
        );
    }
    let synthesis = js(
        c,
        "document.querySelector('.round[data-part=synthesis] .turn[data-specialist=numa] .answer').innerHTML",
    )
    .await;
    let synthesis = synthesis.as_str().unwrap_or("");
    assert!(
        synthesis.contains("<strong>The council</strong>: ship the budget view."),
        "rendered as Markdown: {synthesis}"
    );
    let summary = js(c, "document.getElementById('summary').textContent").await;
    let summary = summary.as_str().unwrap_or("");
    assert!(
        summary.starts_with("2 rounds in ") && summary.contains("silent: metis"),
        "{summary}"
    );
    // Round 2 told the others metis was silent.
    let asked = provider.asked("penia");
    assert!(
        asked[1].contains("Silent in round 1: metis"),
        "{}",
        asked[1]
    );

    // /t/council opens with the council chosen; /t/nobody is a 404.
    c.goto(&web.url("/t/council")).await.unwrap();
    let chosen = "document.getElementById('team-select').value === 'council'";
    assert!(
        until(c, chosen, WAIT).await,
        "/t/council did not choose council"
    );
    let r = client().get(web.url("/t/nobody")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    driver.close().await;
}
