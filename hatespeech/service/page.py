"""The service's demo page (GET / and POST /): one HTML template, no build step, no external resources.

The form posts to ``/``, where the service runs it through the same validation, limits, micro-batcher and
explanations as ``POST /predict``; the page then shows each text's action under the chosen moderation policy and
the band each calibrated score fell in, its label, a bar per class probability, what the decision rule changed, and
(if asked) the tokens that pushed the prediction, coloured by their score.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from hatespeech import PipelineError

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hate speech / offensive language classifier</title>
<style>
body {{ font: 16px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }}
textarea {{ width: 100%; min-height: 8rem; font: inherit; padding: .5rem; box-sizing: border-box; }}
button {{ font: inherit; padding: .4rem 1.2rem; }}
.result {{ border: 1px solid #d0d7de; border-radius: 6px; padding: .8rem 1rem; margin: 1rem 0; }}
.text {{ margin: 0 0 .5rem; white-space: pre-wrap; }}
.label {{ font-weight: 600; }}
.bar {{ display: grid; grid-template-columns: 11rem 1fr 4rem; align-items: center; gap: .5rem; margin: .15rem 0; }}
.track {{ background: #eaeef2; height: .8rem; border-radius: .4rem; overflow: hidden; }}
.fill {{ background: #57606a; height: 100%; }}
.chosen .fill {{ background: #cf222e; }}
.rule, .note {{ color: #57606a; font-size: .9rem; }}
.tokens span {{ padding: 0 .1rem; border-radius: 3px; }}
.error {{ color: #cf222e; font-weight: 600; }}
.action {{ font-weight: 600; padding: .05rem .5rem; border-radius: 1rem; color: #fff; }}
.allow {{ background: #1a7f37; }} .review {{ background: #9a6700; }} .flag {{ background: #cf222e; }}
</style>
</head>
<body>
<h1>Hate speech / offensive language classifier</h1>
<p class="note">One text per line, at most {max_texts} texts of {max_chars} characters
(explanations: at most {explain_max_texts} texts). Predictions use the model's decision rule.
<a href="/model/card">Model card</a> · <a href="/model">model details</a> · <a href="/docs">API docs</a></p>
<form method="post" action="/" id="form">
<textarea name="texts" id="texts" required placeholder="have a lovely weekend">{texts}</textarea>
<p><label><input type="checkbox" name="explain" value="1"{explain_checked}> explain: highlight the tokens behind
each label (slower)</label>{policy_select}</p>
<button type="submit" id="submit">Classify</button> <span class="note" id="status"></span>
</form>
{error}
{results}
<script>
const form = document.getElementById("form");
form.addEventListener("submit", () => {{
  document.getElementById("submit").disabled = true;
  document.getElementById("status").textContent = "Classifying…";
}});
document.getElementById("texts").addEventListener("keydown", (event) => {{
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
}});
</script>
</body>
</html>
"""


def form_texts(body: bytes) -> tuple[list[str], bool, str | None]:
    """(the non-blank lines of the form's textarea, whether explanations were asked for, the policy chosen)."""
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError as exc:
        raise PipelineError(f"the form is not valid UTF-8: {exc}") from None
    text = "\n".join(fields.get("texts", []))
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    policy = (fields.get("policy") or [""])[0] or None
    return [line for line in lines if line], bool(fields.get("explain")), policy


def _bars(prediction: Mapping[str, Any]) -> str:
    rows = []
    for label, score in prediction["scores"].items():
        chosen = " chosen" if label == prediction["label"] else ""
        rows.append(
            f'<div class="bar{chosen}"><span>{html.escape(label)}</span>'
            f'<div class="track"><div class="fill" style="width: {100 * score:.1f}%"></div></div>'
            f"<span>{100 * score:.1f}%</span></div>"
        )
    return "".join(rows)


def _rule_effect(prediction: Mapping[str, Any]) -> str:
    scores = prediction["scores"]
    argmax = max(scores, key=scores.get)
    if argmax == prediction["label"]:
        return f"The decision rule agrees with the most probable class ({html.escape(argmax)})."
    return (
        f"The most probable class is {html.escape(argmax)}; the decision rule's offsets, chosen on validation, "
        f"pick {html.escape(prediction['label'])}."
    )


def _tokens(explanation: Mapping[str, Any]) -> str:
    """Tokens as highlighted spans: red pushes towards the label, blue away; WordPiece pieces are joined."""
    strongest = max([abs(t["score"]) for t in explanation["tokens"]] + [1e-9])
    spans = []
    for item in explanation["tokens"]:
        token, score = item["token"], item["score"]
        alpha = min(1.0, abs(score) / strongest) * 0.6
        colour = f"rgba(207, 34, 46, {alpha:.2f})" if score > 0 else f"rgba(9, 105, 218, {alpha:.2f})"
        text = token[2:] if token.startswith("##") else f" {token}"
        spans.append(f'<span style="background: {colour}" title="{score:+.4f}">{html.escape(text)}</span>')
    note = " (first tokens only)" if explanation.get("truncated") else ""
    return (
        f'<p class="tokens">{"".join(spans).strip()}</p><p class="note">Occlusion: how much the probability of '
        f"{html.escape(explanation['label'])} drops without each token; red pushed towards it, blue away{note}.</p>"
    )


def _band(threshold: Mapping[str, Any], score: float) -> str:
    """Where ``score`` fell among one class's thresholds: allow below review, review below flag, flag above."""
    review, flag = threshold.get("review"), threshold.get("flag")
    edges = [f"review from {review:.3f}" if review is not None else "no review band"]
    edges.append(f"flag from {flag:.3f}" if flag is not None else "never flagged automatically")
    if flag is not None and score >= flag:
        band = "flag"
    elif review is not None and score >= review:
        band = "review"
    else:
        band = "allow"
    return f"{score:.3f}: the {band} band ({', '.join(edges)})"


def _decision(prediction: Mapping[str, Any], thresholds: Mapping[str, Any] | None) -> str:
    """The action, its policy, and per class of the policy the band its calibrated score fell in."""
    action = prediction.get("action")
    if action is None:
        return ""
    bands = "; ".join(
        f"{html.escape(label.replace('_', ' '))} {_band(threshold, prediction['scores'][label])}"
        for label, threshold in (thresholds or {}).items()
    )
    return (
        f'<p>Action: <span class="action {html.escape(action)}">{html.escape(action)}</span> '
        f"under the <b>{html.escape(str(prediction['policy']))}</b> policy</p>"
        f'<p class="rule">Calibrated score of {bands}.</p>'
    )


def render_results(
    texts: Sequence[str], predictions: Sequence[Mapping[str, Any]], thresholds: Mapping[str, Any] | None = None
) -> str:
    """Each text's result; ``thresholds`` are the chosen policy's, by class (None: no policy)."""
    blocks = []
    for text, prediction in zip(texts, predictions):
        explanation = prediction.get("explanation")
        blocks.append(
            '<div class="result">'
            f'<p class="text">{html.escape(text)}</p>'
            f"{_decision(prediction, thresholds)}"
            f'<p>Label: <span class="label">{html.escape(prediction["label"])}</span> '
            f"({100 * prediction['score']:.1f}%)</p>"
            f"{_bars(prediction)}"
            f'<p class="rule">{_rule_effect(prediction)}</p>'
            f"{_tokens(explanation) if explanation else ''}"
            "</div>"
        )
    return "\n".join(blocks)


def _policy_select(policies: Sequence[str], chosen: str | None, default: str | None) -> str:
    if not policies:
        return ""
    options = "".join(
        f'<option value="{html.escape(name)}"{" selected" if name == (chosen or default) else ""}>'
        f"{html.escape(name)}{' (default)' if name == default else ''}</option>"
        for name in policies
    )
    return f' · <label>policy <select name="policy" id="policy">{options}</select></label>'


def render_page(
    limits: Mapping[str, int],
    texts: Sequence[str] = (),
    predictions: Sequence[Mapping[str, Any]] = (),
    explain: bool = False,
    error: str | None = None,
    policies: Mapping[str, Any] | None = None,
) -> str:
    """The page; ``policies``: {"names", "default", "chosen", "thresholds" of the chosen one} (None: no policies)."""
    policies = policies or {}
    return PAGE.format(
        texts=html.escape("\n".join(texts)),
        explain_checked=" checked" if explain else "",
        policy_select=_policy_select(policies.get("names", ()), policies.get("chosen"), policies.get("default")),
        error=f'<p class="error">{html.escape(error)}</p>' if error else "",
        results=render_results(texts, predictions, policies.get("thresholds")),
        **limits,
    )
