//! Errors from Azure Resource Manager, typed: the service's own code, message,
//! target and details, plus the request that failed and its ids, so a
//! diagnostic can name the call and the fix.

use std::fmt;

/// ARM's `{"error":{"code","message","target","details"}}`, or what we know when there is no body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub target: Option<String>,
    /// `code: message` of each detail.
    pub details: Vec<String>,
    pub method: String,
    pub path: String,
    pub client_request_id: String,
    pub request_id: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} answered {} {}: {}",
            self.method, self.path, self.status, self.code, self.message
        )?;
        if let Some(t) = &self.target {
            write!(f, " (target: {t})")?;
        }
        for d in &self.details {
            write!(f, "\n  - {d}")?;
        }
        write!(f, "\n(x-ms-client-request-id: {}", self.client_request_id)?;
        if let Some(r) = &self.request_id {
            write!(f, ", x-ms-request-id: {r}")?;
        }
        write!(f, ")")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    /// The service answered with an error.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// A long-running operation ended Failed or Canceled.
    #[error("{0}")]
    OperationFailed(Box<OperationError>),
    /// The caller's time ran out (retries or waiting included).
    #[error("{what} did not finish within the timeout ({waited_secs} s); the object may still be changing in Azure")]
    Timeout { what: String, waited_secs: u64 },
    /// No token could be obtained.
    #[error("Azure authentication failed: {0}")]
    Auth(String),
    /// The request never got an answer.
    #[error("{method} {path} failed: {message}")]
    Transport {
        method: String,
        path: String,
        message: String,
    },
    /// The provider configuration cannot build a client.
    #[error("{0}")]
    Config(String),
    /// An answer we could not read.
    #[error("unexpected answer from {path}: {message}")]
    Decode { path: String, message: String },
}

/// The error a long-running operation ended with: ARM's code, message,
/// target and details, and which operation on which resource it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationError {
    pub operation: String,
    pub resource: String,
    /// `Failed` or `Canceled`.
    pub status: String,
    pub code: String,
    pub message: String,
    pub target: Option<String>,
    /// `code: message` of each detail.
    pub details: Vec<String>,
}

impl fmt::Display for OperationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} ended {}",
            self.operation, self.resource, self.status
        )?;
        for part in [&self.code, &self.message] {
            if !part.is_empty() {
                write!(f, ": {part}")?;
            }
        }
        if let Some(t) = &self.target {
            write!(f, " (target: {t})")?;
        }
        for d in &self.details {
            write!(f, "\n  - {d}")?;
        }
        Ok(())
    }
}

/// ARM's `details` array as `code: message` lines.
pub(crate) fn detail_lines(error: &super::models::common::ErrorDetail) -> Vec<String> {
    error
        .details
        .iter()
        .flatten()
        .map(|x| {
            format!(
                "{}: {}",
                x.code.as_deref().unwrap_or(""),
                x.message.as_deref().unwrap_or("")
            )
        })
        .collect()
}

impl ArmError {
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            ArmError::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The service's error code, when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ArmError::Api(e) => Some(&e.code),
            ArmError::OperationFailed(e) => Some(&e.code),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        self.api().map(|e| e.status)
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}
