//! RecordedSerial::reserve: a serial comes back only after the ledger
//! recorded it, and it is exactly the one the ledger saw.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Mutex;

use certwell_ca::testing::MemoryLedger;
use certwell_ca::{RecordedSerial, SerialLedger};

/// Drives a future that never waits (the ledgers here) to completion.
fn ready<F: Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("these ledgers never wait"),
    }
}

/// A ledger that remembers every call and answers `Ok(receipt)` or, when
/// `fail` is set, `Err(fail)`.
#[derive(Default)]
struct SpyLedger {
    fail: Option<&'static str>,
    calls: Mutex<Vec<(String, Vec<String>)>>,
}

impl SerialLedger for &SpyLedger {
    type Receipt = &'static str;
    type Error = String;
    async fn record(
        self,
        issuer_id: &str,
        serials_hex: Vec<String>,
    ) -> Result<&'static str, String> {
        self.calls
            .lock()
            .unwrap()
            .push((issuer_id.to_string(), serials_hex));
        match self.fail {
            Some(why) => Err(why.to_string()),
            None => Ok("order-7"),
        }
    }
}

#[test]
fn a_failing_ledger_yields_no_serial() {
    let ledger = SpyLedger {
        fail: Some("disk full"),
        ..Default::default()
    };
    let res = ready(RecordedSerial::reserve(&ledger, "ica-1", 3));
    assert_eq!(res.unwrap_err(), "disk full");
    let res = ready(RecordedSerial::reserve_one(&ledger, "ica-1"));
    assert_eq!(res.unwrap_err(), "disk full");
    // The ledger was asked (3 serials, then 1) and refused.
    let calls = ledger.calls.lock().unwrap();
    let counts: Vec<usize> = calls.iter().map(|(_, s)| s.len()).collect();
    assert_eq!(counts, [3, 1]);
}

#[test]
fn the_serials_are_the_ones_the_ledger_recorded() {
    let ledger = SpyLedger::default();
    let (serials, receipt) = ready(RecordedSerial::reserve(&ledger, "ica-1", 50)).unwrap();
    assert_eq!(receipt, "order-7");
    let calls = ledger.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "one ledger call per reservation");
    let (issuer, seen) = &calls[0];
    assert_eq!(issuer, "ica-1");
    let got: Vec<String> = serials.iter().map(RecordedSerial::hex).collect();
    assert_eq!(&got, seen, "same serials, same order");
    let distinct: HashSet<&String> = got.iter().collect();
    assert_eq!(distinct.len(), 50, "distinct");
    for s in &serials {
        assert_eq!(s.issuer_id(), "ica-1");
        let b = s.as_bytes();
        // Positive, non-zero, minimal (first octet neither 0 nor ≥ 0x80),
        // 16 octets (≥ 64 bits of CSPRNG output), upper-case hex.
        assert_eq!(b.len(), 16, "{}", s.hex());
        assert!(b[0] != 0 && b[0] & 0x80 == 0, "{}", s.hex());
        assert_eq!(s.hex(), hex::encode_upper(b));
    }

    let (one, receipt) = ready(RecordedSerial::reserve_one(&ledger, "ica-2")).unwrap();
    assert_eq!(receipt, "order-7");
    let calls = ledger.calls.lock().unwrap();
    assert_eq!(calls[1], ("ica-2".to_string(), vec![one.hex()]));
    assert_eq!(one.issuer_id(), "ica-2");
    assert!(!got.contains(&one.hex()));
}

#[test]
fn zero_serials_is_an_empty_recording() {
    let ledger = SpyLedger::default();
    let (serials, _) = ready(RecordedSerial::reserve(&ledger, "ica-1", 0)).unwrap();
    assert!(serials.is_empty());
    assert_eq!(
        *ledger.calls.lock().unwrap(),
        [("ica-1".to_string(), Vec::<String>::new())]
    );
}

#[test]
fn memory_ledger_refuses_a_serial_twice() {
    let ledger = MemoryLedger::default();
    let (serials, ()) = ready(RecordedSerial::reserve(&ledger, "ica-1", 4)).unwrap();
    let hex: Vec<String> = serials.iter().map(RecordedSerial::hex).collect();
    // Each of them again, alone or in a batch: refused.
    for h in &hex {
        let err = ready((&ledger).record("ica-1", vec![h.clone()])).unwrap_err();
        assert!(err.contains(h.as_str()) && err.contains("twice"), "{err}");
    }
    assert!(ready((&ledger).record("ica-1", vec!["0A0B".into(), hex[2].clone()])).is_err());
    // Twice within one batch: refused.
    let err = ready((&ledger).record("ica-1", vec!["0C".into(), "0C".into()])).unwrap_err();
    assert!(err.contains("0C"), "{err}");
    // Serials are unique per CA: another CA may use the same number.
    ready((&ledger).record("ica-2", hex.clone())).unwrap();
    assert!(ready((&ledger).record("ica-2", vec![hex[0].clone()])).is_err());
    // reserve through the same ledger keeps drawing fresh serials.
    let (more, ()) = ready(RecordedSerial::reserve(&ledger, "ica-1", 4)).unwrap();
    assert!(more.iter().all(|s| !hex.contains(&s.hex())));
}

#[test]
fn recorded_serial_helper_gives_fresh_serials() {
    let a = certwell_ca::testing::recorded_serial();
    let b = certwell_ca::testing::recorded_serial();
    assert_ne!(a, b);
    assert_eq!(a.as_bytes().len(), 16);
}

#[test]
fn memory_ledger_records_a_batch_all_or_nothing() {
    let ledger = MemoryLedger::default();
    ready((&ledger).record("ica-1", vec!["01".into()])).unwrap();
    // A batch with one serial already recorded records none of the others…
    let err = ready((&ledger).record("ica-1", vec!["0A0B".into(), "01".into()])).unwrap_err();
    assert!(err.contains("01") && err.contains("twice"), "{err}");
    // …nor does a batch with one serial twice (the repeat comes last).
    let err =
        ready((&ledger).record("ica-1", vec!["0C".into(), "0D".into(), "0C".into()])).unwrap_err();
    assert!(err.contains("0C"), "{err}");
    // So each of them can still be recorded, once.
    ready((&ledger).record("ica-1", vec!["0A0B".into(), "0C".into(), "0D".into()])).unwrap();
    for s in ["01", "0A0B", "0C", "0D"] {
        assert!(
            ready((&ledger).record("ica-1", vec![s.into()])).is_err(),
            "{s}"
        );
    }
}

#[test]
fn a_serial_is_for_the_ca_it_was_recorded_for_only() {
    let ledger = MemoryLedger::default();
    let (serial, ()) = ready(RecordedSerial::reserve_one(&ledger, "ica-1")).unwrap();
    serial.for_issuer("ica-1").unwrap();
    match serial.for_issuer("ica-2") {
        Err(certwell_ca::CaError::InvalidInput(m)) => assert_eq!(
            m,
            format!(
                "serial {} recorded for CA ica-1 used with CA ica-2",
                serial.hex()
            )
        ),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}
