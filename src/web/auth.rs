//! Who is asking: bearer tokens and session cookies, sign-in and sign-out, and the
//! loopback rule when no tokens are configured.

use super::*;
/// Without tokens everyone is an analyst, so only this machine may ask: the socket is
/// bound to loopback, and the `Host` header must name loopback too, or a web page
/// elsewhere could reach the server through a name that resolves here (DNS
/// rebinding). A foreign host gets 421.
pub(crate) async fn loopback_host(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if state.tokens_required() {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if is_loopback_host(host) {
        next.run(request).await
    } else {
        ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "without tokens ako answers only requests addressed to this machine (localhost, 127.0.0.1 or [::1])",
        )
        .into_response()
    }
}

/// Whether a `Host` header names this machine: `localhost`, an address in 127.0.0.0/8
/// or `[::1]`, with or without a port.
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why the server may not listen on `addr`: without tokens everyone is an analyst, so
/// only this machine may connect.
pub fn refuse_bind(config: &Config, addr: SocketAddr) -> Option<String> {
    (config.tokens.is_empty() && !addr.ip().is_loopback()).then(|| {
        format!(
            "no tokens are configured, so ako serves only on loopback (127.0.0.1 or ::1), not {addr}; add one with `ako token add --role analyst` first"
        )
    })
}

pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_string)
        })
}

/// Who is asking: without configured tokens everyone (on loopback) is an analyst; with
/// them, a bearer token or the login cookie names the viewer, and no token means public.
pub fn viewer(state: &AppState, headers: &HeaderMap) -> Result<Viewer, ApiError> {
    if !state.tokens_required() {
        return Ok(Viewer::analyst());
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    if let Some(token) = bearer {
        return state.tokens.verify(&token).ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "this token is not recognised")
        });
    }
    match cookie_value(headers, signin::COOKIE) {
        None => Ok(Viewer::public()),
        Some(id) => state
            .tokens
            .verify_session(&state.signins, &id)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "your session has ended; sign in again at /login",
                )
            }),
    }
}

/// The sign-in form. A token in the address is refused, not used: addresses end up in
/// browser history, proxy logs and the `Referer` of the next page.
pub(crate) async fn login_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    if q.contains_key("token") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "a token is never accepted in a web address; sign in with the form at /login",
        ));
    }
    let current = state.current();
    pages::render(
        "login.html",
        minijinja::context! {
            title => "Sign in",
            role => "nobody yet",
            lake_version => current.source.lake_version,
            home => "/",
        },
    )
}

#[derive(serde::Deserialize)]
pub(crate) struct LoginForm {
    pub(crate) token: String,
}

/// Exchanges a token, sent in the body, for a session cookie.
pub(crate) async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response, ApiError> {
    if !state.tokens_required() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "no tokens are configured: everyone on this machine is an analyst",
        ));
    }
    // A form posted from another site would sign the browser in as someone else.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let bare = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if bare != host {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "sign in from this server's own page",
            ));
        }
    }
    if state.tokens.verify(&form.token).is_none() {
        tracing::warn!("sign-in with an unknown token");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this token is not recognised",
        ));
    }
    let id = state.signins.start(form.token.trim());
    let cookie = format!(
        "{}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        signin::COOKIE,
        signin::TTL.as_secs()
    );
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(internal)?,
    );
    Ok(response)
}

/// Ends the session the cookie names and clears the cookie.
pub(crate) async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie_value(&headers, signin::COOKIE) {
        state.signins.end(&id);
    }
    let mut response = Redirect::to("/").into_response();
    let cleared = format!(
        "{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        signin::COOKIE
    );
    if let Ok(v) = HeaderValue::from_str(&cleared) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}
