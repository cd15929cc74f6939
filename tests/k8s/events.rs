//! Changes as events on the real API server: the controller run with `--events` sets up its
//! account's rule and queue, corrects a change someone made as soon as CloudTrail's record of it
//! arrives (put on the bus by the test: moto emits none), long before the pipeline's check
//! interval, and says in `DriftCorrected` which found it; a change no event tells of is still
//! corrected by the routine sweep, which says so.

use crate::common;

use common::events::{PERSON, cloudtrail, inject};
use common::kube::*;
use common::moto::*;
use pitagora::controller::Settings;
use pitagora::events::EVENTS_NAME;
use serde_json::json;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(45);

/// One source group; checked every 30 s by the sweep.
const SPEC: &str =
    "sources:\n  logGroups: [/ecs/orders]\ndrift:\n  policy: Correct\n  checkIntervalSeconds: 30\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_told_by_an_event_is_corrected_at_once_and_one_no_event_tells_of_by_the_sweep() {
    let Watched {
        ns,
        m,
        ctl,
        outsider,
    } = watched("events", &["/ecs/orders"]).await;
    let n = names(&m, &ns, "orders");

    // Someone deletes the filter, and CloudTrail tells of it.
    let told = std::time::Instant::now();
    delete_and_tell(&m, &outsider, "/ecs/orders", &n.filter, "k8s-1").await;
    until(Duration::from_secs(20), "the filter back", || async {
        filter_names(&m.c, "/ecs/orders")
            .await
            .contains(&n.filter)
            .then_some(())
    })
    .await;
    let took = told.elapsed();
    let by_event = until(LONG, "a DriftCorrected event found by an event", || async {
        let notes = events(&ns, "DriftCorrected");
        notes.into_iter().find(|e| e.contains("found by an event"))
    })
    .await;
    assert!(
        by_event.contains(&format!("DeleteSubscriptionFilter by {PERSON}")),
        "{by_event}"
    );
    assert!(
        took < Duration::from_secs(20),
        "corrected {took:?} after the event"
    );

    // The check that follows a correction at once has run: the next one is the sweep's.
    until(LONG, "Synced=True after the correction", || async {
        (condition(&ns, "orders", "Synced") == "True").then_some(())
    })
    .await;
    // A change no event tells of waits for the sweep.
    remove_filter(&outsider, "/ecs/orders", &n.filter).await;
    until(
        Duration::from_secs(60),
        "the filter back by the sweep",
        || async {
            filter_names(&m.c, "/ecs/orders")
                .await
                .contains(&n.filter)
                .then_some(())
        },
    )
    .await;
    let by_sweep = until(
        LONG,
        "a DriftCorrected event found by the sweep",
        || async {
            let notes = events(&ns, "DriftCorrected");
            notes
                .into_iter()
                .find(|e| e.contains("found by the routine sweep"))
        },
    )
    .await;
    assert!(by_sweep.contains("SubscriptionFilter"), "{by_sweep}");
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_applied_where_events_already_arrive_is_told_of_its_first_change() {
    let Watched {
        ns,
        m,
        ctl,
        outsider,
    } = watched("events-new", &["/ecs/orders", "/ecs/payments"]).await;

    // Applied where the queue is drained already: its change comes before the index's next
    // refresh (every 15 s), and is routed to it all the same.
    let spec = SPEC.replace("/ecs/orders", "/ecs/payments");
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(&ns, "payments", &spec)),
    );
    ready(&ns, "payments").await;
    let n = names(&m, &ns, "payments");
    delete_and_tell(&m, &outsider, "/ecs/payments", &n.filter, "k8s-new").await;
    // Only payments changed: the one correction in the namespace is its own.
    let by_event = until(
        LONG,
        "payments' DriftCorrected found by an event",
        || async {
            events(&ns, "DriftCorrected")
                .into_iter()
                .find(|e| e.contains("found by an event"))
        },
    )
    .await;
    assert!(by_event.contains("DeleteSubscriptionFilter"), "{by_event}");
    ctl.stop().await;
}

/// The controller run with `--events` over a namespace of its own, with `orders` (on
/// `/ecs/orders`) Ready and its account's change-event queue set up.
struct Watched {
    ns: String,
    m: Moto,
    ctl: Running,
    outsider: pitagora::aws::RegionClients,
}

async fn watched(label: &str, groups: &[&str]) -> Watched {
    install();
    let ns = namespace(label);
    let m = Moto::new().await;
    m.log_groups(groups).await;
    let ctl = start(
        &m,
        Settings {
            events: true,
            ..settings(&ns, None)
        },
    )
    .await;
    kubectl_ok(&["apply", "-f", "-"], Some(&pipeline(&ns, "orders", SPEC)));
    ready(&ns, "orders").await;
    let outsider = m.outsider().await;
    queue_set_up(&outsider).await;
    Watched {
        ns,
        m,
        ctl,
        outsider,
    }
}

async fn ready(ns: &str, name: &str) {
    until(LONG, "Ready=True", || async {
        (condition(ns, name, "Ready") == "True").then_some(())
    })
    .await;
}

/// Waits until the controller has set up its account's change-event queue.
async fn queue_set_up(outsider: &pitagora::aws::RegionClients) {
    until(LONG, "the change-event queue", || async {
        let url = outsider
            .sqs
            .get_queue_url()
            .queue_name(EVENTS_NAME)
            .send()
            .await;
        url.is_ok().then_some(())
    })
    .await;
}

/// Someone deletes `filter` from `group`, and CloudTrail's record of it reaches the bus.
async fn delete_and_tell(
    m: &Moto,
    outsider: &pitagora::aws::RegionClients,
    group: &str,
    filter: &str,
    id: &str,
) {
    remove_filter(outsider, group, filter).await;
    let record = cloudtrail(
        m,
        "logs.amazonaws.com",
        "DeleteSubscriptionFilter",
        json!({"logGroupName": group, "filterName": filter}),
        PERSON,
        id,
    );
    inject(m, &[record]).await;
}

/// Someone removes `filter` from `group`.
async fn remove_filter(outsider: &pitagora::aws::RegionClients, group: &str, filter: &str) {
    outsider
        .logs
        .delete_subscription_filter()
        .log_group_name(group)
        .filter_name(filter)
        .send()
        .await
        .unwrap();
}
