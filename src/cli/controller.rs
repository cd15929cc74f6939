//! The `run` command: the Kubernetes controller, until SIGINT or SIGTERM.

use super::{AwsArgs, CliError, ControllerArgs, Exit, engine_with};

/// `run`: connects to Kubernetes and runs the controller until a signal stops it.
pub(super) async fn run_controller(
    aws: &AwsArgs,
    controller: &ControllerArgs,
) -> Result<Exit, CliError> {
    // A bad tenancy file stops the start, before anything is reconciled without it.
    let tenancy = controller.tenancy()?;
    if controller.events && controller.shards > 1 {
        return Err(CliError::EventsWithShards(controller.shards));
    }
    let client = kube::Client::try_default().await.map_err(CliError::Kube)?;
    // Routine checks use their budget of every rate, in every account.
    let mut settings = aws.settings()?;
    settings.limits = settings.limits.with_budget(controller.sweep_budget);
    let mut engine = engine_with(aws, settings).await?.with_tenancy(tenancy);
    if controller.read_batch > 0 {
        engine = engine.with_batched_reads(std::time::Duration::from_secs(controller.read_batch));
    }
    crate::controller::run(client, engine, controller.settings(), signal()).await?;
    Ok(Exit::Ok)
}

/// Resolves on SIGINT or SIGTERM.
async fn signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}
