//! Where a value sits in the validated document: a chain of tokens on the stack, turned into a JSON
//! pointer only when a finding needs one (so valid documents allocate nothing).

use std::fmt::Write;

use crate::pointer::escape_token;

/// A location in a JSON document, relative to the validated root.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Loc<'a> {
    /// The document itself.
    Root,
    /// An object member of the parent location.
    Key(&'a Loc<'a>, &'a str),
    /// An array item of the parent location.
    Index(&'a Loc<'a>, usize),
}

impl<'a> Loc<'a> {
    /// The member `key` of this location.
    pub(crate) fn key<'b>(&'b self, key: &'b str) -> Loc<'b>
    where
        'a: 'b,
    {
        Loc::Key(self, key)
    }

    /// The item `index` of this location.
    pub(crate) fn index<'b>(&'b self, index: usize) -> Loc<'b>
    where
        'a: 'b,
    {
        Loc::Index(self, index)
    }

    /// The RFC 6901 pointer of this location (`""` for the root).
    pub(crate) fn pointer(&self) -> String {
        let mut out = String::new();
        self.write_to(&mut out);
        out
    }

    fn write_to(&self, out: &mut String) {
        match *self {
            Loc::Root => {}
            Loc::Key(parent, key) => {
                parent.write_to(out);
                out.push('/');
                out.push_str(&escape_token(key));
            }
            Loc::Index(parent, index) => {
                parent.write_to(out);
                // Writing to a String cannot fail.
                let _ = write!(out, "/{index}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Loc;

    #[test]
    fn builds_escaped_pointers() {
        let root = Loc::Root;
        let servers = root.key("servers");
        let entry = servers.key("io.github.a/b~c");
        let tag = entry.key("tags");
        let first = tag.index(0);
        assert_eq!(first.pointer(), "/servers/io.github.a~1b~0c/tags/0");
        assert_eq!(root.pointer(), "");
    }
}
