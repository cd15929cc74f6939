//! One reconcile of a live pipeline, decided as values: `decide::decide` asks for the I/O it
//! needs, one step at a time, and decides once it has it. Specified here: what the shell used to
//! decide itself, a reconcile between checks (a delivery step only) and a requested check's
//! canary. No cluster and no AWS.

use crate::common;

use common::controller::{at, checked_status, pipeline};
use common::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use pitagora::controller::RECONCILE_REQUESTED_AT;
use pitagora::controller::decide::{
    self, EventMemory, Found, Gathered, Io, Next, Requeue, Stepped,
};
use pitagora::controller::delivery_status::{self, Step};
use pitagora::controller::reasons::{condition, reason};
use pitagora::delivery::canary::Canary;
use pitagora::delivery::progress::{CanaryRoute, POLL_MS, StageState, Tracked};
use pitagora::desired::Pipeline;
use pitagora::engine::Converged;
use pitagora::plan::plan;
use pitagora::spec::{DeliveryStatus, LogPipeline};
use std::time::Duration;

/// When every reconcile here runs: 100 s after the last check, 200 s before the next is due.
const NOW: i64 = 100;

fn decide_now(lp: &LogPipeline, g: Gathered) -> Next {
    decide::decide(lp, g, &EventMemory::default(), at(NOW), 0)
}

/// The I/O asked for, and the value to add its result to.
fn asked(next: Next) -> (Gathered, Io) {
    match next {
        Next::Gather(g, io) => (*g, *io),
        Next::Done(d) => panic!("decided without asking: {d:?}"),
    }
}

fn resolved() -> Box<Pipeline> {
    Box::new(Pipeline::from_spec(&id(), &full_chain_spec(), ACCOUNT, REGION).unwrap())
}

fn route() -> CanaryRoute {
    desired(&full_chain_spec())
        .canary_route
        .expect("verify is on")
}

/// A check of an AWS that matches the spec.
fn in_sync() -> Found {
    let d = desired(&full_chain_spec());
    let o = converged(&d, &["/ecs/orders"]);
    Found::Converged(Box::new(Converged {
        initial: plan(&d, &o),
        remaining: plan(&d, &o),
        passes: Vec::new(),
        refused: Vec::new(),
        desired: d,
        observed: o,
    }))
}

#[test]
fn between_checks_the_due_canary_is_sent_without_checking_aws() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let (mut g, io) = asked(decide_now(&lp, Gathered::new(at(0), Duration::ZERO)));
    assert!(matches!(io, Io::Resolve), "{io:?}");
    g.resolved = Some(Some(resolved()));
    let (mut g, io) = asked(decide_now(&lp, g));
    let Io::Deliver { region, look, .. } = io else {
        panic!("{io:?}")
    };
    assert_eq!((region.as_str(), look.is_none()), (REGION, true), "a send");
    g.delivery = Some(Some(Stepped {
        step: Step::Failed("throttled".into()),
        at_ms: at(NOW).as_millisecond(),
    }));
    let Next::Done(d) = decide_now(&lp, g) else {
        panic!("a step is the last I/O between checks")
    };
    let status = d.status.expect("the step's status");
    let delivering = status
        .conditions
        .iter()
        .find(|c| c.type_ == condition::DELIVERING);
    assert_eq!(
        delivering.map(|c| c.reason.as_str()),
        Some(reason::VERIFY_FAILED)
    );
    assert_eq!(status.last_check_time, Some(Time(at(0))), "no check ran");
    assert_eq!(d.figures.drifted, None, "no check ran");
    // The next look comes at the poll interval, well before the check due in 200 s.
    assert_eq!(
        d.requeue,
        Requeue::After(Duration::from_millis(POLL_MS as u64))
    );
}

#[test]
fn a_change_waiting_as_an_event_checks_a_current_pipeline_at_once_ahead_of_routine_work() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let g = Gathered::new(at(0), Duration::ZERO)
        .with_event(Some("DeleteSubscriptionFilter by someone".into()));
    let (_, io) = asked(decide_now(&lp, g));
    assert!(matches!(io, Io::Check { routine: false }), "{io:?}");
}

#[test]
fn between_checks_a_pipeline_that_cannot_be_resolved_waits_for_its_next_check() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let g = Gathered {
        resolved: Some(None),
        ..Gathered::new(at(0), Duration::ZERO)
    };
    let Next::Done(d) = decide_now(&lp, g) else {
        panic!("nothing to gather")
    };
    assert!(d.status.is_none() && d.events.is_empty());
    assert_eq!(
        d.requeue,
        Requeue::After(Duration::from_secs(300 - NOW as u64))
    );
}

/// A canary sent 10 s ago and looked for 5 s ago, its stages all in `state`.
fn canary(state: StageState) -> Tracked {
    let r = route();
    Tracked {
        canary: Canary::new("team-a/orders", at(NOW - 10).as_millisecond(), 7),
        looked_at_ms: at(NOW - 5).as_millisecond(),
        stages: r.stages().into_iter().map(|s| (s, state.clone())).collect(),
        paths: Vec::new(),
    }
}

#[test]
fn a_requested_check_sends_a_new_canary_unless_one_is_in_flight() {
    let delivered = StageState::Delivered {
        at_ms: at(NOW - 8).as_millisecond(),
        object: "raw/2027/01/15/object".into(),
    };
    // (the canary in status, whether a check was requested, the step the check takes)
    let rows = [
        (delivered.clone(), true, Some("send")),
        (StageState::Waiting, true, Some("look")),
        // A spec change checks too, but no canary is due: no step.
        (delivered, false, None),
    ];
    for (state, requested, step) in rows {
        let mut status = checked_status(0, "InSync");
        status.delivery = Some(DeliveryStatus {
            canary: Some(delivery_status::canary_status(
                &route(),
                &canary(state.clone()),
            )),
            ..DeliveryStatus::default()
        });
        let mut lp = pipeline(
            full_chain_spec(),
            if requested { 1 } else { 2 },
            Some(status),
        );
        if requested {
            lp.metadata.annotations = Some([(RECONCILE_REQUESTED_AT.into(), "now".into())].into());
        }
        let (mut g, io) = asked(decide_now(&lp, Gathered::new(at(0), Duration::ZERO)));
        assert!(matches!(io, Io::Check { routine: false }), "{io:?}");
        g.found = Some(in_sync());
        let taken = match asked(decide_now(&lp, g)).1 {
            Io::Deliver { look: None, .. } => Some("send"),
            Io::Deliver { look: Some(t), .. } => {
                assert_eq!(
                    t.canary.id,
                    canary(state.clone()).canary.id,
                    "the one in flight"
                );
                Some("look")
            }
            Io::Signals { .. } => None,
            io => panic!("{io:?}"),
        };
        assert_eq!(taken, step, "{state:?}, requested: {requested}");
    }
}
