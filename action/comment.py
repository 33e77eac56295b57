"""One pull-request comment per model, updated on every push rather than repeated.

The comment starts with torch2tf's marker line; the first comment of the pull request holding the
marker and this model's name is edited, else a new one is created (GitHub's REST API, with the
job's token).
"""
from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path


def api(method: str, url: str, token: str, body: dict | None = None):
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def upsert(api_url: str, repository: str, number: int, token: str, body: str, marker: str) -> str:
    """Edit our earlier comment or create one; returns "updated" or "created"."""
    comments_url = f"{api_url}/repos/{repository}/issues/{number}/comments"
    page = 1
    while True:
        comments = api("GET", f"{comments_url}?per_page=100&page={page}", token)
        for comment in comments:
            if comment.get("body", "").startswith(marker):
                api("PATCH", f"{api_url}/repos/{repository}/issues/comments/{comment['id']}", token, {"body": body})
                return "updated"
        if len(comments) < 100:
            break
        page += 1
    api("POST", comments_url, token, {"body": body})
    return "created"


def main() -> None:
    from torch2tf.validation.markdown import DIFF_MARKER

    env = os.environ
    event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text())
    number = (event.get("pull_request") or {}).get("number")
    if not number:
        sys.exit("not a pull_request event: no comment")
    model = env.get("T2T_MODEL", "")
    marker = f"{DIFF_MARKER}<!-- {model} -->" if model else DIFF_MARKER
    body = Path(env["T2T_COMMENT"]).read_text().replace(DIFF_MARKER, marker, 1)
    done = upsert(env.get("GITHUB_API_URL", "https://api.github.com"), env["GITHUB_REPOSITORY"], number,
                  env["GITHUB_TOKEN"], body, marker)
    print(f"torch2tf: pull-request comment {done}")


if __name__ == "__main__":
    main()
