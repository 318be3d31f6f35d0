//! Which peers and host names the server believes: `--trusted-proxies`, `--allowed-hosts`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// The proxies allowed to tell us the client's scheme, host and address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl FromStr for TrustedProxies {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(n) => n.trunc(),
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip.to_canonical()),
                    Err(_) => return Err(format!("not an IP address or CIDR block: {item}")),
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|n| {
                if n.prefix_len() == n.max_prefix_len() {
                    n.addr().to_string()
                } else {
                    n.to_string()
                }
            })
            .collect();
        f.write_str(&items.join(","))
    }
}

/// The host names the server answers for (Django's `ALLOWED_HOSTS`); empty allows any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts(pub Vec<String>);

impl AllowedHosts {
    /// Whether `host` (`name[:port]` as the client sent it) is allowed: an entry equal to its
    /// name, `.example.com` for that domain and its subdomains, or `*`.
    pub fn allows(&self, host: &str) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let name = match host.rsplit_once(':') {
            Some((name, port)) if !name.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                name
            }
            _ => host,
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.0.iter().any(|entry| {
            entry == "*"
                || *entry == name
                || entry
                    .strip_prefix('.')
                    .is_some_and(|domain| name == domain || name.ends_with(entry.as_str()))
        })
    }
}

impl FromStr for AllowedHosts {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hosts = s.split(',').map(str::trim).filter(|h| !h.is_empty());
        Ok(AllowedHosts(hosts.map(str::to_ascii_lowercase).collect()))
    }
}

impl fmt::Display for AllowedHosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_hosts_match_names_ports_and_subdomains() {
        let a: AllowedHosts = "cvat.example, .corp.example,[::1]".parse().unwrap();
        assert!(a.allows("cvat.example") && a.allows("CVAT.example:8080"));
        assert!(a.allows("corp.example") && a.allows("eu.corp.example:443"));
        assert!(a.allows("[::1]:8080"));
        assert!(!a.allows("evil.example") && !a.allows("xcorp.example"));
        assert!(AllowedHosts::default().allows("anything"));
    }

    #[test]
    fn trusted_proxies_parse_addresses_and_blocks() {
        let t: TrustedProxies = "127.0.0.1, ::1,10.0.0.0/8".parse().unwrap();
        assert!(t.contains("127.0.0.1".parse().unwrap()));
        assert!(t.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(t.contains("::1".parse().unwrap()));
        assert!(t.contains("10.20.30.40".parse().unwrap()));
        assert!(!t.contains("192.168.0.1".parse().unwrap()));
        assert_eq!(t.to_string(), "127.0.0.1,::1,10.0.0.0/8");
        assert_eq!("".parse::<TrustedProxies>().unwrap().0.len(), 0);
        assert!("localhost".parse::<TrustedProxies>().is_err());
    }
}
