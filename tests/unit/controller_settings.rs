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

#[test]
fn routine_checks_use_a_quarter_of_each_operations_rate_by_default() {
    assert_eq!(controller(&[]).sweep_budget.get(), 0.25);
    assert_eq!(
        controller(&["--sweep-budget", "0.5"]).sweep_budget.get(),
        0.5
    );
}

#[test]
fn a_sweep_budget_outside_0_to_1_is_refused_naming_the_flag_and_the_fix() {
    for bad in ["0", "-0.1", "1.5", "NaN", "a quarter"] {
        let flag = format!("--sweep-budget={bad}");
        let e = Cli::try_parse_from(["pitagora", "run", &flag]).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("--sweep-budget"), "{bad}: {text}");
        assert!(text.contains("above 0 and at most 1"), "{bad}: {text}");
    }
}
