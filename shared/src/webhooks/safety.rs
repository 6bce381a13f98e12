//! SSRF rules for endpoint URLs. Pure: `check_url` parses a URL and checks an IP-literal host;
//! the delivery code resolves DNS names itself and runs `check_ip` on every resolved address
//! (and connects only to the address it checked, so a rebinding resolver cannot swap it).

use super::WebhookError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlPolicy {
    /// HTTPS only; no private, loopback, link-local or otherwise non-public addresses.
    Production,
    /// Also `http://` and loopback (127/8, ::1), for local development. Private ranges stay refused.
    Local,
}

fn url_error(message: impl Into<String>) -> WebhookError {
    WebhookError::Url(message.into())
}

/// Checks an endpoint URL and returns its host and port. The host comes back lowercased, IPv6
/// literals without brackets (`::1`), ready to resolve. IP literals are checked with `check_ip`;
/// DNS names must be checked by the caller after resolution.
///
/// Refused: schemes other than `https` (and `http` in `Local`), userinfo (`user@host`), empty
/// hosts, spaces, control characters and backslashes anywhere, unbracketed IPv6, port 0 or
/// out-of-range ports, `localhost` names in `Production`, and numeric hosts that are not a plain
/// dotted quad (`2130706433`, `0x7f.1`, `127.1`, `010.0.0.1`: URL parsers read those as IPv4, often
/// loopback). The fragment is ignored.
pub fn check_url(url: &str, policy: UrlPolicy) -> Result<(String, u16), WebhookError> {
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(url_error("contains spaces or control characters"));
    }
    if url.contains('\\') {
        return Err(url_error("contains a backslash"));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| url_error("must start with https://"))?;
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        443
    } else if scheme.eq_ignore_ascii_case("http") {
        match policy {
            UrlPolicy::Local => 80,
            UrlPolicy::Production => return Err(url_error("must use https")),
        }
    } else {
        return Err(url_error(format!("unsupported scheme `{scheme}`: use https")));
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(url_error("must not contain a user name or password (`user@`)"));
    }
    if authority.is_empty() {
        return Err(url_error("has no host"));
    }

    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (inside, after) = bracketed
            .split_once(']')
            .ok_or_else(|| url_error("unclosed `[` in the host"))?;
        let ip: Ipv6Addr = inside
            .parse()
            .map_err(|_| url_error(format!("`[{inside}]` is not an IPv6 address")))?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| url_error("junk after `]`"))?),
        };
        (Host::Ip(IpAddr::V6(ip)), port)
    } else {
        if authority.matches(':').count() > 1 {
            return Err(url_error("IPv6 addresses must be in brackets: https://[2001:db8::1]/"));
        }
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        (parse_host(host)?, port)
    };

    let port = match port {
        None => default_port,
        Some(digits) => parse_port(digits)?,
    };
    let host = match host {
        Host::Ip(ip) => {
            check_ip(ip, policy)?;
            ip.to_string()
        }
        Host::Name(name) => {
            if policy == UrlPolicy::Production && (name == "localhost" || name.ends_with(".localhost")) {
                return Err(url_error(format!("`{name}` is a loopback name")));
            }
            name
        }
    };
    Ok((host, port))
}

enum Host {
    Ip(IpAddr),
    Name(String),
}

fn parse_port(digits: &str) -> Result<u16, WebhookError> {
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(url_error(format!("bad port `{digits}`")));
    }
    match digits.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(url_error(format!("port `{digits}` is out of range"))),
    }
}

/// A DNS name or a dotted-quad IPv4 address.
fn parse_host(host: &str) -> Result<Host, WebhookError> {
    if host.is_empty() {
        return Err(url_error("has no host"));
    }
    let name = host.to_ascii_lowercase();
    let labels: Vec<&str> = name.split('.').collect();
    let last = labels
        .iter()
        .rev()
        .find(|label| !label.is_empty())
        .copied()
        .unwrap_or_default();
    let numeric = (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())) || last.starts_with("0x");
    if numeric {
        // URL parsers (WHATWG, getaddrinfo) read `127.1`, `2130706433`, `0x7f.0.0.1` or
        // `0177.0.0.1` as IPv4 addresses; accept only the unambiguous dotted quad.
        return name
            .parse::<Ipv4Addr>()
            .map(|ip| Host::Ip(IpAddr::V4(ip)))
            .map_err(|_| {
                url_error(format!(
                    "`{host}` is not a valid IPv4 address (write four decimal numbers)"
                ))
            });
    }
    if name.len() > 253 {
        return Err(url_error("host name is too long"));
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return Err(url_error(format!("bad host name `{host}`")));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(url_error(format!(
                "bad host name `{host}` (letters, digits, `-`, `_`; write internationalized names in punycode)"
            )));
        }
    }
    Ok(Host::Name(name))
}

/// Checks one address the endpoint's host is (or resolved to).
pub fn check_ip(ip: IpAddr, policy: UrlPolicy) -> Result<(), WebhookError> {
    let reason = match ip {
        IpAddr::V4(v4) => v4_reason(v4, policy),
        IpAddr::V6(v6) => v6_reason(v6, policy),
    };
    match reason {
        Some(reason) => Err(WebhookError::Address { ip, reason }),
        None => Ok(()),
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
    Ipv4Addr::new(a, b, c, d).to_bits()
}

/// Special-purpose IPv4 ranges (RFC 6890 and successors) a webhook must never reach.
const V4_REFUSED: &[(u32, u32, &str)] = &[
    (v4(0, 0, 0, 0), 8, "\"this network\" (0.0.0.0/8)"),
    (v4(10, 0, 0, 0), 8, "private (10.0.0.0/8)"),
    (v4(100, 64, 0, 0), 10, "carrier-grade NAT (100.64.0.0/10)"),
    (v4(127, 0, 0, 0), 8, "loopback (127.0.0.0/8)"),
    (
        v4(169, 254, 0, 0),
        16,
        "link-local, incl. cloud metadata (169.254.0.0/16)",
    ),
    (v4(172, 16, 0, 0), 12, "private (172.16.0.0/12)"),
    (v4(192, 0, 0, 0), 24, "IETF protocol assignments (192.0.0.0/24)"),
    (v4(192, 0, 2, 0), 24, "documentation (192.0.2.0/24)"),
    (v4(192, 88, 99, 0), 24, "6to4 relay anycast (192.88.99.0/24)"),
    (v4(192, 168, 0, 0), 16, "private (192.168.0.0/16)"),
    (v4(198, 18, 0, 0), 15, "benchmarking (198.18.0.0/15)"),
    (v4(198, 51, 100, 0), 24, "documentation (198.51.100.0/24)"),
    (v4(203, 0, 113, 0), 24, "documentation (203.0.113.0/24)"),
    (v4(224, 0, 0, 0), 4, "multicast (224.0.0.0/4)"),
    (v4(255, 255, 255, 255), 32, "broadcast (255.255.255.255)"),
    (v4(240, 0, 0, 0), 4, "reserved (240.0.0.0/4)"),
];

fn v4_reason(ip: Ipv4Addr, policy: UrlPolicy) -> Option<&'static str> {
    if policy == UrlPolicy::Local && ip.is_loopback() {
        return None;
    }
    let bits = ip.to_bits();
    V4_REFUSED
        .iter()
        .find(|(net, len, _)| bits & u32::MAX.checked_shl(32 - len).unwrap_or(0) == *net)
        .map(|(_, _, reason)| *reason)
}

const fn v6(segments: [u16; 8]) -> u128 {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Addr::new(a, b, c, d, e, f, g, h).to_bits()
}

/// Special-purpose IPv6 ranges (RFC 6890, RFC 9637, IANA registry); anything else outside
/// global unicast 2000::/3 is refused too.
const V6_REFUSED: &[(u128, u32, &str)] = &[
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]),
        48,
        "local-use NAT64 (64:ff9b:1::/48)",
    ),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0]), 64, "discard-only (100::/64)"),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        23,
        "IETF protocol assignments, incl. Teredo (2001::/23)",
    ),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]),
        32,
        "documentation (2001:db8::/32)",
    ),
    (v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16, "6to4 (2002::/16)"),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]), 20, "documentation (3fff::/20)"),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]), 7, "unique local (fc00::/7)"),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 10, "link-local (fe80::/10)"),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]), 10, "site-local (fec0::/10)"),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, "multicast (ff00::/8)"),
];

fn in_v6(bits: u128, net: u128, len: u32) -> bool {
    bits & u128::MAX.checked_shl(128 - len).unwrap_or(0) == net
}

fn v6_reason(ip: Ipv6Addr, policy: UrlPolicy) -> Option<&'static str> {
    if ip == Ipv6Addr::LOCALHOST {
        return match policy {
            UrlPolicy::Local => None,
            UrlPolicy::Production => Some("loopback (::1)"),
        };
    }
    if ip == Ipv6Addr::UNSPECIFIED {
        return Some("unspecified (::)");
    }
    let bits = ip.to_bits();
    // Forms that carry an IPv4 address in the low 32 bits reach that address: apply its rules.
    let embedded = Ipv4Addr::from_bits(bits as u32);
    if in_v6(bits, v6([0, 0, 0, 0, 0, 0xffff, 0, 0]), 96) {
        return v4_reason(embedded, policy); // IPv4-mapped ::ffff:a.b.c.d
    }
    if in_v6(bits, 0, 96) {
        return v4_reason(embedded, policy); // IPv4-compatible ::a.b.c.d (deprecated)
    }
    if in_v6(bits, v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96) {
        return v4_reason(embedded, policy); // NAT64 64:ff9b::a.b.c.d
    }
    if let Some((_, _, reason)) = V6_REFUSED.iter().find(|(net, len, _)| in_v6(bits, *net, *len)) {
        return Some(reason);
    }
    if !in_v6(bits, v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3) {
        return Some("not a global unicast address (outside 2000::/3)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use UrlPolicy::{Local, Production};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn ok(url: &str, policy: UrlPolicy) -> (String, u16) {
        check_url(url, policy).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    fn refused(url: &str, policy: UrlPolicy) -> WebhookError {
        check_url(url, policy).expect_err(url)
    }

    const PUBLIC: &[&str] = &[
        "1.1.1.1",
        "8.8.8.8",
        "93.184.216.34",
        "172.15.255.255",
        "172.32.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "169.253.255.255",
        "192.167.255.255",
        "198.17.255.255",
        "198.20.0.0",
        "223.255.255.255",
        "2606:4700:4700::1111",
        "2a00:1450:4001:80b::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2001:200::1",
    ];

    /// Refused in both policies.
    const PRIVATE: &[&str] = &[
        "0.0.0.0",
        "0.1.2.3",
        "10.0.0.1",
        "10.255.255.255",
        "100.64.0.1",
        "100.127.255.255",
        "169.254.169.254",
        "169.254.0.1",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.8",
        "192.0.2.1",
        "192.88.99.1",
        "192.168.0.1",
        "192.168.255.255",
        "198.18.0.1",
        "198.19.255.255",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "fc00::1",
        "fd12:3456:789a::1",
        "fe80::1",
        "febf:ffff::1",
        "fec0::1",
        "ff02::1",
        "ff05::1:3",
        "100::1",
        "2001::1",
        "2001:db8::1",
        "2002:a00:1::1",
        "3fff::1",
        "64:ff9b:1::1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:192.168.1.1",
        "::ffff:0.0.0.0",
        "::10.0.0.1",
        "::169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::10.1.2.3",
        "4000::1",
        "1::1",
    ];

    /// Refused in production, allowed locally.
    const LOOPBACK: &[&str] = &[
        "127.0.0.1",
        "127.255.255.254",
        "127.1.2.3",
        "::1",
        "::ffff:127.0.0.1",
        "::127.0.0.1",
        "64:ff9b::7f00:1",
    ];

    #[test]
    fn public_addresses_pass_both_policies() {
        for &s in PUBLIC {
            assert_eq!(check_ip(ip(s), Production), Ok(()), "{s}");
            assert_eq!(check_ip(ip(s), Local), Ok(()), "{s}");
        }
    }

    #[test]
    fn private_ranges_are_refused_in_both_policies() {
        for &s in PRIVATE {
            for policy in [Production, Local] {
                match check_ip(ip(s), policy) {
                    Err(WebhookError::Address { ip: got, .. }) => assert_eq!(got, ip(s)),
                    other => panic!("{s} in {policy:?}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn loopback_only_in_local() {
        for &s in LOOPBACK {
            assert!(check_ip(ip(s), Production).is_err(), "{s}");
            assert_eq!(check_ip(ip(s), Local), Ok(()), "{s}");
        }
    }

    #[test]
    fn reasons_name_the_range() {
        let reason = |s: &str| match check_ip(ip(s), Production) {
            Err(WebhookError::Address { reason, .. }) => reason,
            other => panic!("{s}: {other:?}"),
        };
        assert!(reason("169.254.169.254").contains("metadata"));
        assert!(reason("10.1.1.1").contains("private"));
        assert!(reason("::ffff:10.1.1.1").contains("private"));
        assert!(reason("127.0.0.1").contains("loopback"));
        assert!(reason("::1").contains("loopback"));
        assert!(reason("fd00::1").contains("unique local"));
        assert!(reason("fe80::1").contains("link-local"));
        assert!(reason("ff02::1").contains("multicast"));
        assert!(reason("255.255.255.255").contains("broadcast"));
        let message = check_ip(ip("10.0.0.1"), Production).unwrap_err().to_string();
        assert_eq!(message, "webhook address 10.0.0.1 is not allowed: private (10.0.0.0/8)");
    }

    #[test]
    fn url_hosts_and_ports() {
        let cases: &[(&str, &str, u16)] = &[
            ("https://example.com", "example.com", 443),
            ("https://example.com/", "example.com", 443),
            (
                "https://hooks.example.com/autobill/in?x=1&y=2#frag",
                "hooks.example.com",
                443,
            ),
            ("https://example.com?x=1", "example.com", 443),
            ("https://example.com#top", "example.com", 443),
            ("https://Example.COM:8443/path", "example.com", 8443),
            ("HTTPS://example.com/", "example.com", 443),
            ("HtTpS://example.com:443/", "example.com", 443),
            ("https://example.com:65535", "example.com", 65535),
            ("https://my_host.example.com", "my_host.example.com", 443),
            ("https://xn--e1afmkfd.xn--p1ai/hook", "xn--e1afmkfd.xn--p1ai", 443),
            ("https://8.8.8.8/hook", "8.8.8.8", 443),
            ("https://8.8.8.8:8443/hook", "8.8.8.8", 8443),
            ("https://[2606:4700:4700::1111]/hook", "2606:4700:4700::1111", 443),
            ("https://[2606:4700:4700::1111]:8443", "2606:4700:4700::1111", 8443),
            ("https://[2606:4700:4700:0:0:0:0:1111]/", "2606:4700:4700::1111", 443),
            ("https://1password.com/", "1password.com", 443),
            ("https://example.com/a@b", "example.com", 443),
        ];
        for &(url, host, port) in cases {
            assert_eq!(ok(url, Production), (host.to_string(), port), "{url}");
            assert_eq!(ok(url, Local), (host.to_string(), port), "{url}");
        }
    }

    #[test]
    fn http_only_in_local() {
        assert_eq!(
            refused("http://example.com/", Production),
            WebhookError::Url("must use https".into())
        );
        assert_eq!(ok("http://example.com/", Local), ("example.com".into(), 80));
        assert_eq!(ok("HTTP://example.com:8080/", Local), ("example.com".into(), 8080));
        assert_eq!(ok("http://127.0.0.1:3000/hook", Local), ("127.0.0.1".into(), 3000));
        assert_eq!(ok("http://[::1]:3000/hook", Local), ("::1".into(), 3000));
        assert_eq!(ok("http://localhost:3000/hook", Local), ("localhost".into(), 3000));
    }

    #[test]
    fn loopback_urls_only_in_local() {
        for url in [
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://localhost/",
            "https://LOCALHOST:8443/",
            "https://api.localhost/",
        ] {
            assert!(check_url(url, Production).is_err(), "{url}");
            assert!(check_url(url, Local).is_ok(), "{url}");
        }
    }

    #[test]
    fn private_ip_literals_refused_in_urls() {
        for url in [
            "https://10.0.0.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://192.168.1.1:8443/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[::ffff:a9fe:a9fe]/",
            "https://0.0.0.0/",
            "https://[::]/",
        ] {
            for policy in [Production, Local] {
                assert!(
                    matches!(check_url(url, policy), Err(WebhookError::Address { .. })),
                    "{url} {policy:?}"
                );
            }
        }
    }

    #[test]
    fn malformed_urls_refused() {
        for url in [
            "",
            "example.com",
            "//example.com",
            "https:/example.com",
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://example.com/",
            "https://",
            "https:///path",
            "https://?q",
            "https://#frag",
            "https://user@example.com/",
            "https://user:pass@example.com/",
            "https://@example.com/",
            "https://example.com@127.0.0.1/",
            "https://127.0.0.1\\@example.com/",
            "https://example.com\\path",
            "https://exa mple.com/",
            " https://example.com/",
            "https://example.com/ ",
            "https://example.com/a b",
            "https://example.com/\n",
            "https://example.com\t/",
            "https://example.com\u{0}/",
            "https://example.com:/",
            "https://example.com:0/",
            "https://example.com:65536/",
            "https://example.com:99999999/",
            "https://example.com:-1/",
            "https://example.com:+443/",
            "https://example.com:80:80/",
            "https://example.com:https/",
            "https://2606:4700::1111/",
            "https://[2606:4700::1111/",
            "https://[2606:4700::1111]x/",
            "https://[2606:4700::1111]:/",
            "https://[example.com]/",
            "https://[fe80::1%25eth0]/",
            "https://[8.8.8.8]/",
            "https://example..com/",
            "https://.example.com/",
            "https://example.com./",
            "https://exa%6dple.com/",
            "https://пример.рф/",
            "https://example.com!/",
            "https://2130706433/",
            "https://0x7f000001/",
            "https://0x7f.0.0.1/",
            "https://0177.0.0.1/",
            "https://010.0.0.1/",
            "https://127.1/",
            "https://8.8.8.8./",
            "https://1.2.3.4.5/",
            "https://256.0.0.1/",
            "https://foo.0x10/",
            "https://foo.123/",
        ] {
            for policy in [Production, Local] {
                assert!(check_url(url, policy).is_err(), "{url:?} accepted in {policy:?}");
            }
        }
        let long = format!("https://{}.com/", "a".repeat(64));
        assert!(check_url(&long, Production).is_err());
        let long = format!("https://{}com/", "abcdefghi.".repeat(26));
        assert!(check_url(&long, Production).is_err());
    }

    #[test]
    fn url_errors_are_readable() {
        assert_eq!(
            refused("https://u:p@example.com/", Production).to_string(),
            "invalid webhook URL: must not contain a user name or password (`user@`)"
        );
        assert_eq!(
            refused("https://169.254.169.254/", Local).to_string(),
            "webhook address 169.254.169.254 is not allowed: link-local, incl. cloud metadata (169.254.0.0/16)"
        );
    }
}
