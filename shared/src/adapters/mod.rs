//! Implementations of the ports: DynamoDB and S3 through the AWS SDK, and in-memory fakes.

pub mod admin;
pub mod dynamo;
pub mod eventbridge;
pub mod memory;
pub mod s3;
pub mod ses;
pub mod subscriptions;
pub mod transfers;
pub mod webhooks;
pub mod yookassa_api;

pub use dynamo::DynamoStore;
pub use eventbridge::EventBridgeBus;
pub use s3::S3Documents;
pub use ses::SesMailer;
pub use yookassa_api::YooKassaApi;
