//! Lint the generated hierarchy with pkilint (DigiCert).
//!
//! pkilint is looked up in $CERTWELL_PKILINT_BIN_DIR, then /work/main/.venv/bin,
//! then the crate's workspace `.venv/bin`. If it is not found the test FAILS,
//! unless CERTWELL_SKIP_PKILINT=1 is set.

mod common;

use std::process::Command;

use common::{findings, pkilint_dir_or_skip, run};

#[test]
fn pkilint_hierarchy_is_clean() {
    let Some(bin) = pkilint_dir_or_skip() else {
        return;
    };
    let h = common::build();
    let serverauth = bin.join("lint_cabf_serverauth_cert");
    let mut report = Vec::new();
    let mut failures = Vec::new();

    let mut lint = |name: &str, ty: &str, path: &std::path::Path, allowed: &[&str]| {
        let (code, out, err) = run(Command::new(&serverauth).args([
            "lint",
            "-t",
            ty,
            "-s",
            "WARNING",
            "-f",
            "CSV",
            path.to_str().unwrap(),
        ]));
        let f = findings(&out);
        let bad: Vec<_> = f
            .iter()
            .filter(|(_, c)| !allowed.contains(&c.as_str()))
            .collect();
        report.push(format!("{name} [{ty}]: exit {code}, findings {f:?}"));
        if !bad.is_empty() || !err.trim().is_empty() || (allowed.is_empty() && code != 0) {
            failures.push(format!("{name} [{ty}]: exit {code}\n{out}\n{err}"));
        }
    };

    lint("root", "ROOT-CA", &h.root.pem_path, &[]);
    for ica in &h.icas {
        lint(
            ica.issued.name,
            "INTERNAL-UNCONSTRAINED-TLS-CA",
            &ica.issued.pem_path,
            &[],
        );
    }
    for leaf in &h.leaves {
        let ty = if leaf.ev {
            "EV-FINAL-CERTIFICATE"
        } else {
            "OV-FINAL-CERTIFICATE"
        };
        let allowed: &[&str] = if leaf.has_cn {
            &[
                "cabf.serverauth.ov.common_name_attribute_present",
                "cabf.ev_guidelines.common_name_attribute_present",
            ]
        } else {
            &[]
        };
        lint(leaf.issued.name, ty, &leaf.issued.pem_path, allowed);
    }
    // Detection mode must classify the CA certificates the same way.
    for (path, expect) in [
        (&h.root.pem_path, "ROOT-CA"),
        (&h.icas[0].issued.pem_path, "INTERNAL-UNCONSTRAINED-TLS-CA"),
    ] {
        let (code, out, err) = run(Command::new(&serverauth).args([
            "lint",
            "-d",
            "-o",
            "-s",
            "WARNING",
            path.to_str().unwrap(),
        ]));
        report.push(format!(
            "{} [-d]: exit {code}, detected {}",
            path.display(),
            err.trim()
        ));
        if code != 0 || !err.contains(expect) {
            failures.push(format!("{} -d: exit {code} {out} {err}", path.display()));
        }
    }

    let crl_lint = bin.join("lint_crl");
    for crl in &h.crls {
        let (code, out, err) = run(Command::new(&crl_lint).args([
            "lint",
            "-t",
            crl.kind,
            "-p",
            "BR",
            "-s",
            "WARNING",
            crl.der_path.to_str().unwrap(),
        ]));
        report.push(format!("{} [{} BR]: exit {code}", crl.name, crl.kind));
        if code != 0 || !out.trim().is_empty() {
            failures.push(format!("{}: exit {code}\n{out}\n{err}", crl.name));
        }
    }

    // Chain linter (ECDSA / PKCS#1 only, so it is reliable here).
    let chain = bin.join("lint_pkix_signer_signee_cert_chain");
    for leaf in &h.leaves {
        let ica = common::ica_by_name(&h, leaf.ica_name);
        let (code, out, err) = run(Command::new(&chain).args([
            "lint",
            "-s",
            "WARNING",
            ica.issued.pem_path.to_str().unwrap(),
            leaf.issued.pem_path.to_str().unwrap(),
        ]));
        report.push(format!(
            "{} <- {} [chain]: exit {code}",
            leaf.issued.name, ica.issued.name
        ));
        if code != 0 {
            failures.push(format!("chain {}: {out}{err}", leaf.issued.name));
        }
    }
    for ica in &h.icas {
        let (code, out, err) = run(Command::new(&chain).args([
            "lint",
            "-s",
            "WARNING",
            h.root.pem_path.to_str().unwrap(),
            ica.issued.pem_path.to_str().unwrap(),
        ]));
        report.push(format!("{} <- root [chain]: exit {code}", ica.issued.name));
        if code != 0 {
            failures.push(format!("chain {}: {out}{err}", ica.issued.name));
        }
    }

    eprintln!("pkilint report:\n  {}", report.join("\n  "));
    assert!(
        failures.is_empty(),
        "pkilint findings:\n{}",
        failures.join("\n")
    );
}
