//! Error responses: a short message and the request id, never engine text; the log has
//! the detail under the same id.

use super::*;
/// An error response: JSON for the API, a short page otherwise.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub(crate) fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("no {what}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = REQUEST_ID.try_with(Clone::clone).unwrap_or_default();
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            json!({
                "error": self.message,
                "status": self.status.as_u16(),
                "request_id": request_id,
            })
            .to_string(),
        )
            .into_response()
    }
}

tokio::task_local! {
    /// The id of the request being answered, for error bodies and log lines.
    static REQUEST_ID: String;
}

/// Gives every request an id: in the `x-request-id` response header, in any error body,
/// and on every log line written while answering it, so that a user's report of an
/// error finds its detail in the log.
pub(crate) async fn request_id(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use tracing::Instrument;
    let mut bytes = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let id = hex::encode(bytes);
    let span = tracing::info_span!("request", id = %id);
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request).instrument(span))
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// `work` with the request's id and log span, for running it on another task (the
/// workers): task-locals and spans stay with the task that set them.
pub(crate) fn same_request<F: std::future::Future>(
    work: F,
) -> impl std::future::Future<Output = F::Output> {
    use tracing::Instrument;
    let id = REQUEST_ID.try_with(Clone::clone).unwrap_or_default();
    REQUEST_ID.scope(id, work.instrument(tracing::Span::current()))
}

/// An error whose detail belongs in the log, not in front of the user: the client gets
/// a short message and the request id that finds the detail.
pub(super) fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!("internal error: {e}");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "something went wrong on the server; quote the request id to the programme team",
    )
}

/// Errors on the HTML routes as pages in the dashboards' style: a person who opens a
/// dashboard link without a session sees a page that offers sign-in, not JSON. The API
/// (`/api/…`) and `/healthz` keep their JSON.
pub(crate) async fn html_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if path.starts_with("/api/") || path == "/healthz" || !json || response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 10).await else {
        return (parts.status, "error").into_response();
    };
    let error: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let status = parts.status;
    let heading = match status {
        StatusCode::UNAUTHORIZED => "Please sign in",
        StatusCode::FORBIDDEN => "Not open to you",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::SERVICE_UNAVAILABLE => "Busy",
        s if s.is_client_error() => "That did not work",
        _ => "Something went wrong",
    };
    let html = super::pages::render_html(
        "error.html",
        minijinja::context! {
            title => heading,
            heading => heading,
            message => error["error"].as_str().unwrap_or(""),
            request_id => error["request_id"].as_str().unwrap_or(""),
            sign_in => matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
            role => "—",
            lake_version => (),
            home => "/",
        },
    );
    let mut page = match html {
        Ok(html) => (status, axum::response::Html(html)).into_response(),
        Err(_) => (status, bytes).into_response(),
    };
    // Keep what the handler said beyond the body (Retry-After, the request id).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().insert(name.clone(), value.clone());
        }
    }
    page
}
