//! Small helpers over roxmltree (read-only, namespace-aware) and XML text escaping.

use anyhow::bail;
use roxmltree::{Document, Node};

pub const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Parses a document, refusing DTDs (no entity expansion, no external references).
pub fn parse(text: &str) -> anyhow::Result<Document<'_>> {
    if text.contains("<!DOCTYPE") || text.contains("<!ENTITY") {
        bail!("XML with a DTD is not accepted");
    }
    Ok(Document::parse(text)?)
}

pub fn is(node: Node, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name
}

pub fn children<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'a str,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| is(*c, ns, name))
}

pub fn first_child<'a, 'i>(node: Node<'a, 'i>, ns: &'a str, name: &'a str) -> Option<Node<'a, 'i>> {
    children(node, ns, name).next()
}

/// The text content of an element (its text children joined).
pub fn text_of(node: Node) -> String {
    node.children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect()
}

/// Escapes text for an XML attribute or element.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}
