//! [`Allowlist`]: which peer addresses may connect at all.
//!
//! The list is checked in the accept loop on the address the kernel reports, before the
//! connection takes a slot or a byte of it is read, so a refused peer costs one `accept`
//! and one `close` (with a zero linger: a reset, no `TIME_WAIT`). Refusals are counted in
//! `promstatic_refused_peers_total` and never logged one by one: a flood from a refused
//! network must not flood the host's log.
//!
//! # Matching
//!
//! A rule is a CIDR range (`10.0.0.0/8`, `2001:db8::/32`) or a single address (`192.0.2.7`,
//! `::1`). Host bits below the prefix are ignored (`10.1.2.3/8` is `10.0.0.0/8`), as Go's
//! `net.ParseCIDR` and exporter-toolkit users expect. A peer connecting over IPv6 with a
//! v4-mapped address (`::ffff:192.0.2.7`, what a dual-stack `[::]` listener reports for an
//! IPv4 client) is matched as the IPv4 address it carries, and a v4-mapped rule
//! (`::ffff:10.0.0.0/104`) is the IPv4 rule it denotes, so one rule covers both listeners.
//! An empty list admits everyone (the default: the default address is loopback).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// One parsed rule: a network of either family, host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    V4 { network: u32, prefix: u8 },
    V6 { network: u128, prefix: u8 },
}

/// Why a rule is not a CIDR range; the text completes "… is not a CIDR range: ".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CidrError {
    /// The part before `/` is not an IPv4 or IPv6 address.
    Address,
    /// The part after `/` is not a number.
    Prefix,
    /// The prefix is longer than the address (32 bits for IPv4, 128 for IPv6).
    PrefixTooLong,
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CidrError::Address => "the part before `/` is not an IPv4 or IPv6 address",
            CidrError::Prefix => "the prefix length after `/` is not a number",
            CidrError::PrefixTooLong => {
                "the prefix length is longer than the address (32 bits for IPv4, 128 for IPv6)"
            }
        })
    }
}

/// A mask with the top `prefix` bits of a `BITS`-bit address set (`prefix <= BITS`).
fn mask(prefix: u8, bits: u32) -> u128 {
    if prefix == 0 {
        0
    } else {
        // `prefix >= 1`, so the shift is at most `bits - 1 <= 127`.
        (u128::MAX << (bits - u32::from(prefix))) & (u128::MAX >> (128 - bits))
    }
}

impl Rule {
    fn parse(text: &str) -> Result<Rule, CidrError> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().map_err(|_| CidrError::Address)?;
        let prefix = match prefix {
            Some(prefix) => {
                // `u8::from_str` accepts a leading `+`; a CIDR never has one.
                if prefix.is_empty() || !prefix.bytes().all(|byte| byte.is_ascii_digit()) {
                    return Err(CidrError::Prefix);
                }
                Some(prefix.parse::<u8>().map_err(|_| CidrError::PrefixTooLong)?)
            }
            None => None,
        };
        match address {
            IpAddr::V4(v4) => Rule::v4(v4, prefix.unwrap_or(32)),
            IpAddr::V6(v6) => {
                let prefix = prefix.unwrap_or(128);
                if prefix > 128 {
                    return Err(CidrError::PrefixTooLong);
                }
                match v6.to_ipv4_mapped() {
                    // `::ffff:0:0/96` and longer: an IPv4 range written the IPv6 way.
                    Some(v4) if prefix >= 96 => Rule::v4(v4, prefix - 96),
                    _ => Ok(Rule::V6 {
                        network: u128::from(v6) & mask(prefix, 128),
                        prefix,
                    }),
                }
            }
        }
    }

    fn v4(address: Ipv4Addr, prefix: u8) -> Result<Rule, CidrError> {
        if prefix > 32 {
            return Err(CidrError::PrefixTooLong);
        }
        // The mask fits in 32 bits for `bits == 32`.
        let mask = mask(prefix, 32) as u32;
        Ok(Rule::V4 {
            network: u32::from(address) & mask,
            prefix,
        })
    }

    fn contains(self, peer: IpAddr) -> bool {
        match (self, canonical(peer)) {
            (Rule::V4 { network, prefix }, IpAddr::V4(peer)) => {
                u32::from(peer) & mask(prefix, 32) as u32 == network
            }
            (Rule::V6 { network, prefix }, IpAddr::V6(peer)) => {
                u128::from(peer) & mask(prefix, 128) == network
            }
            _ => false,
        }
    }
}

/// A v4-mapped IPv6 address as the IPv4 address it carries; anything else unchanged.
fn canonical(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        IpAddr::V4(_) => peer,
    }
}

/// The peers allowed to connect; see the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Allowlist {
    rules: Vec<Rule>,
}

impl Allowlist {
    /// Parses every rule; the first that is not a CIDR range or an address is the error,
    /// with its text.
    pub(crate) fn parse<'a>(
        rules: impl IntoIterator<Item = &'a str>,
    ) -> Result<Allowlist, (&'a str, CidrError)> {
        let rules = rules
            .into_iter()
            .map(|text| Rule::parse(text).map_err(|error| (text, error)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Allowlist { rules })
    }

    /// Whether there are no rules (every peer is admitted).
    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `peer` may connect: always with no rules, else when a rule contains it.
    /// No allocation, no lock: a few integer comparisons per rule.
    pub(crate) fn permits(&self, peer: IpAddr) -> bool {
        self.rules.is_empty() || self.rules.iter().any(|rule| rule.contains(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(rules: &[&str]) -> Allowlist {
        Allowlist::parse(rules.iter().copied()).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv4_ranges_match_by_prefix() {
        let allow = list(&["10.0.0.0/8", "192.168.1.7"]);
        assert!(allow.permits(ip("10.255.0.1")));
        assert!(!allow.permits(ip("11.0.0.1")));
        assert!(allow.permits(ip("192.168.1.7")));
        assert!(!allow.permits(ip("192.168.1.8")));
        assert!(!allow.permits(ip("::1")));
    }

    #[test]
    fn host_bits_are_ignored_and_zero_prefixes_match_a_whole_family() {
        assert_eq!(Rule::parse("10.1.2.3/8"), Rule::parse("10.0.0.0/8"));
        let all_v4 = list(&["0.0.0.0/0"]);
        assert!(all_v4.permits(ip("203.0.113.9")));
        assert!(!all_v4.permits(ip("::1")));
        let all_v6 = list(&["::/0"]);
        assert!(all_v6.permits(ip("2001:db8::1")));
        assert!(!all_v6.permits(ip("203.0.113.9")));
    }

    #[test]
    fn ipv6_ranges_match_by_prefix() {
        let allow = list(&["2001:db8::/32", "::1"]);
        assert!(allow.permits(ip("2001:db8:ffff::1")));
        assert!(!allow.permits(ip("2001:db9::1")));
        assert!(allow.permits(ip("::1")));
        assert!(!allow.permits(ip("::2")));
        assert!(!allow.permits(ip("127.0.0.1")));
    }

    #[test]
    fn v4_mapped_peers_and_rules_are_ipv4() {
        let allow = list(&["127.0.0.0/8"]);
        assert!(allow.permits(ip("::ffff:127.0.0.1")));
        assert!(!allow.permits(ip("::ffff:10.0.0.1")));
        let mapped_rule = list(&["::ffff:10.0.0.0/104"]);
        assert!(mapped_rule.permits(ip("10.9.9.9")));
        assert!(mapped_rule.permits(ip("::ffff:10.9.9.9")));
        assert!(!mapped_rule.permits(ip("11.0.0.1")));
    }

    #[test]
    fn malformed_rules_say_what_is_wrong() {
        for (text, error) in [
            ("10.0.0/8", CidrError::Address),
            ("example.com", CidrError::Address),
            ("", CidrError::Address),
            ("10.0.0.0/", CidrError::Prefix),
            ("10.0.0.0/+8", CidrError::Prefix),
            ("10.0.0.0/x", CidrError::Prefix),
            ("10.0.0.0/33", CidrError::PrefixTooLong),
            ("::/129", CidrError::PrefixTooLong),
            ("10.0.0.0/300", CidrError::PrefixTooLong),
        ] {
            assert_eq!(Rule::parse(text), Err(error), "{text:?}");
        }
        let Err((text, _)) = Allowlist::parse(["10.0.0.0/8", "nope"]) else {
            panic!("accepted a malformed rule");
        };
        assert_eq!(text, "nope");
    }

    #[test]
    fn an_empty_list_admits_everyone() {
        assert!(Allowlist::default().permits(ip("203.0.113.9")));
        assert!(Allowlist::default().permits(ip("2001:db8::1")));
    }
}
