//! Implementations of the ports: DynamoDB and S3 through the AWS SDK, and in-memory fakes.

pub mod dynamo;
pub mod memory;
pub mod s3;

pub use dynamo::DynamoStore;
pub use s3::S3Documents;
