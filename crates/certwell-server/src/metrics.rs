//! Prometheus metrics (`GET /metrics`, OpenMetrics text format through the
//! `prometheus-client` crate): requests, order creation and signing
//! latency, certificates issued and signed, OCSP answers, DCV checks,
//! email, database writes on the issuance path, background jobs and
//! rate-limit refusals. One registry per server (tests run several in one
//! process); README "Operating certwell" lists every metric.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route pattern (`/services/v2/order/certificate/{id}`), never
    /// the path itself; `unmatched` for unknown paths.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProductLabels {
    pub product: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignerLabels {
    pub ca: String,
    pub key_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DcvLabels {
    pub method: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabels {
    pub op: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub job: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Latencies from 100 µs to about 26 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 19))
}

fn histograms<L: Clone + std::hash::Hash + Eq>() -> Histograms<L> {
    Family::new_with_constructor(latency_histogram)
}

/// Every metric of one server.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: Histograms<RouteLabels>,
    pub certificates_issued: Family<ProductLabels, Counter>,
    pub signatures: Family<SignerLabels, Counter>,
    pub signing_duration: Histograms<SignerLabels>,
    pub ocsp_responses: Family<StatusLabels, Counter>,
    pub dcv_checks: Family<DcvLabels, Counter>,
    pub emails: Family<ResultLabels, Counter>,
    pub db_writes: Histograms<OpLabels>,
    pub job_runs: Family<JobLabels, Counter>,
    pub job_failures: Family<JobLabels, Counter>,
    pub job_restarts: Family<JobLabels, Counter>,
    pub rate_limited: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("certwell");
        let m = Metrics {
            requests: Family::default(),
            request_duration: histograms(),
            certificates_issued: Family::default(),
            signatures: Family::default(),
            signing_duration: histograms(),
            ocsp_responses: Family::default(),
            dcv_checks: Family::default(),
            emails: Family::default(),
            db_writes: histograms(),
            job_runs: Family::default(),
            job_failures: Family::default(),
            job_restarts: Family::default(),
            rate_limited: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests by method, route pattern and status",
            m.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and route pattern (order creation: POST /services/v2/order/certificate/{id})",
            m.request_duration.clone(),
        );
        registry.register(
            "certificates_issued",
            "Certificates issued (orders, reissues, duplicates) by product",
            m.certificates_issued.clone(),
        );
        registry.register(
            "signatures",
            "Leaf certificates signed, by CA and key type",
            m.signatures.clone(),
        );
        registry.register(
            "signing_duration_seconds",
            "Time to build and sign a leaf certificate, by CA and key type",
            m.signing_duration.clone(),
        );
        registry.register(
            "ocsp_responses",
            "OCSP responses by certificate status (good, revoked, unknown) or error",
            m.ocsp_responses.clone(),
        );
        registry.register(
            "dcv_checks",
            "Domain control checks by method and result",
            m.dcv_checks.clone(),
        );
        registry.register(
            "emails",
            "Validation emails sent or failed",
            m.emails.clone(),
        );
        registry.register(
            "db_write_duration_seconds",
            "Database writes on the issuance path, commit included, by operation",
            m.db_writes.clone(),
        );
        registry.register(
            "job_runs",
            "Background job rounds, by job",
            m.job_runs.clone(),
        );
        registry.register(
            "job_failures",
            "Background jobs that ended by a panic, by job",
            m.job_failures.clone(),
        );
        registry.register(
            "job_restarts",
            "Background jobs restarted after a failure, by job",
            m.job_restarts.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by the per-key rate limit",
            m.rate_limited.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub fn issued(&self, product: &str) {
        self.certificates_issued
            .get_or_create(&ProductLabels {
                product: product.to_string(),
            })
            .inc();
    }

    pub fn signed(&self, ca: &str, key_type: &str, seconds: f64) {
        let l = SignerLabels {
            ca: ca.to_string(),
            key_type: key_type.to_string(),
        };
        self.signatures.get_or_create(&l).inc();
        self.signing_duration.get_or_create(&l).observe(seconds);
    }

    pub fn ocsp(&self, status: &str) {
        self.ocsp_responses
            .get_or_create(&StatusLabels {
                status: status.to_string(),
            })
            .inc();
    }

    pub fn dcv_check(&self, method: &str, ok: bool) {
        self.dcv_checks
            .get_or_create(&DcvLabels {
                method: method.to_string(),
                result: if ok { "valid" } else { "invalid" }.to_string(),
            })
            .inc();
    }

    pub fn email(&self, sent: bool) {
        self.emails
            .get_or_create(&ResultLabels {
                result: if sent { "sent" } else { "failed" }.to_string(),
            })
            .inc();
    }

    /// Times `write` (a store call that commits) as `op`.
    pub async fn db_write<T>(&self, op: &str, write: impl std::future::Future<Output = T>) -> T {
        let started = std::time::Instant::now();
        let out = write.await;
        self.db_writes
            .get_or_create(&OpLabels { op: op.to_string() })
            .observe(started.elapsed().as_secs_f64());
        out
    }

    pub fn job_run(&self, job: &str) {
        self.job_runs
            .get_or_create(&JobLabels {
                job: job.to_string(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_names_each_metric_with_its_labels() {
        let m = Metrics::new();
        m.issued("ssl_plus");
        m.signed("tls-ov-ecc", "ecdsa-p256", 0.0002);
        m.rate_limited.inc();
        let text = m.encode();
        for line in [
            "certwell_certificates_issued_total{product=\"ssl_plus\"} 1",
            "certwell_signatures_total{ca=\"tls-ov-ecc\",key_type=\"ecdsa-p256\"} 1",
            "certwell_signing_duration_seconds_count{ca=\"tls-ov-ecc\",key_type=\"ecdsa-p256\"} 1",
            "certwell_rate_limited_total 1",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
