//! One HTTP client for every SDK client pitagora builds.
//!
//! Left to itself, each service client's configuration builds its own default client: its own
//! connection pool and its own copy of the TLS trust anchors, 19 per region (a heap profile of
//! the controller counted 38). One shared client keeps one connector per distinct timeout
//! setting, so every service and region reuses one pool and one TLS configuration. It is built
//! exactly as the SDK's default (hyper 1, rustls with aws-lc, the proxy read from the
//! environment), so nothing but the sharing changes.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The HTTPS client every SDK client of one [`super::Aws`] shares.
pub fn shared_https_client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}
