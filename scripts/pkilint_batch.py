#!/usr/bin/env python3
"""Run many pkilint lints in one Python process.

pkilint's command-line tools take about a second each to start; the test
suite lints hundreds of certificates, so it feeds them here instead.

stdin: a JSON list of {"linter": "lint_cabf_smime_cert", "args": ["-d"], "file": "/path/c.pem"}
stdout: a JSON list of {"file", "exit", "output"} in the same order, where
"exit" and "output" are what the command-line tool would have returned and
printed for `<linter> lint <args> <file>`.
"""
import contextlib
import io
import json
import sys

from pkilint.bin import (
    lint_cabf_serverauth_cert,
    lint_cabf_smime_cert,
    lint_crl,
    lint_pkix_cert,
)

LINTERS = {
    "lint_cabf_smime_cert": lint_cabf_smime_cert,
    "lint_cabf_serverauth_cert": lint_cabf_serverauth_cert,
    "lint_pkix_cert": lint_pkix_cert,
    "lint_crl": lint_crl,
}


def run(job):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = LINTERS[job["linter"]].main(["lint", *job["args"], job["file"]])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return {"file": job["file"], "exit": code or 0, "output": out.getvalue()}


def main():
    jobs = json.load(sys.stdin)
    json.dump([run(j) for j in jobs], sys.stdout)


if __name__ == "__main__":
    main()
