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

from pkilint import loader, report, validation
from pkilint.bin import (
    lint_cabf_serverauth_cert,
    lint_cabf_smime_cert,
    lint_crl,
    lint_pkix_cert,
)
from pkilint.cabf import smime
from pkilint.pkix import certificate

LINTERS = {
    "lint_cabf_smime_cert": lint_cabf_smime_cert,
    "lint_cabf_serverauth_cert": lint_cabf_serverauth_cert,
    "lint_pkix_cert": lint_pkix_cert,
    "lint_crl": lint_crl,
}


# Building pkilint's validator tree costs far more than running it, so the
# common case (`lint_cabf_smime_cert lint -d -s WARNING`) reuses one tree per
# certificate type. It does exactly what the CLI does (see
# pkilint/bin/lint_cabf_smime_cert.py); everything else goes through the CLI.
_SMIME_VALIDATORS = {}


def smime_fast(job):
    with open(job["file"], "rb") as f:
        try:
            cert = loader.RFC5280CertificateDocumentLoader().get_file_loader_func(
                loader.DocumentFormat.DETECT
            )(f, job["file"])
        except ValueError as e:
            return {"file": job["file"], "exit": 1, "output": f"Failed to load certificate: {e}"}
    v_g = smime.determine_validation_level_and_generation(cert, None)
    if v_g is None:
        return {
            "file": job["file"],
            "exit": 1,
            "output": "Could not determine validation level and generation",
        }
    if v_g not in _SMIME_VALIDATORS:
        _SMIME_VALIDATORS[v_g] = certificate.create_pkix_certificate_validator_container(
            smime.create_decoding_validators(),
            smime.create_subscriber_validators(*v_g),
        )
    results = _SMIME_VALIDATORS[v_g].validate(cert.root)
    severity = validation.ValidationFindingSeverity.WARNING
    count = report.get_findings_count(results, severity)
    text = report.ReportGeneratorPlaintext(results, severity).generate()
    return {"file": job["file"], "exit": min(count, 255), "output": text}


def run(job):
    if job["linter"] == "lint_cabf_smime_cert" and job["args"] == ["-d", "-s", "WARNING"]:
        return smime_fast(job)
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
