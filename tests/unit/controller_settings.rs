//! `pitagora run`'s settings from its command line: leader election is on inside a cluster and
//! off outside it unless asked, so a laptop run works with the CRD alone.

use clap::Parser;
use pitagora::cli::{Cli, Command, ControllerArgs};

fn controller(args: &[&str]) -> ControllerArgs {
    let mut argv = vec!["pitagora", "run"];
    argv.extend(args);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Run { controller, .. } => controller,
        other => panic!("not run: {other:?}"),
    }
}

#[test]
fn leader_election_is_off_outside_a_cluster_by_default() {
    assert!(!controller(&[]).leader_election(false));
}

#[test]
fn leader_election_is_on_inside_a_cluster_by_default() {
    assert!(controller(&[]).leader_election(true));
}

#[test]
fn leader_election_as_asked_wins_either_way() {
    assert!(controller(&["--leader-election=true"]).leader_election(false));
    assert!(!controller(&["--leader-election", "false"]).leader_election(true));
}
