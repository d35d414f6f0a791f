//! Token shapes of credential issuers: a fixed table of ctx's own, one regex per shape.
//!
//! Each shape is what its issuer documents (or what its tokens visibly are): a fixed prefix or
//! a fixed infix, then a run of a known alphabet and length. The prefixes alone
//! (`detect::PREFIXES`) cover the tokens whose tail is "anything long enough"; this table holds
//! the ones that need a precise alphabet, length or structure to be told from ordinary text.
//! Each shape lists keywords: only shapes one of whose keywords occurs in a text are compiled
//! and run (one Aho-Corasick pass finds them), so a command that checks nothing compiles nothing.
//! An entropy floor drops matches that are visibly not random (`AKIAEXAMPLEEXAMPLE00`).

use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder};

/// One issuer's token shape.
struct Shape {
    /// Stable id, as `ctx secret ls` shows it.
    id: &'static str,
    /// What a person calls it, for messages ("looks like a Stripe webhook secret").
    name: &'static str,
    /// Lower-case words, one of which occurs in every match.
    keywords: &'static [&'static str],
    /// The pattern; group 1, when present, is the secret itself.
    regex: &'static str,
    /// Minimum Shannon entropy of the secret, in bits per byte (0: none).
    entropy: f64,
}

const fn shape(
    id: &'static str,
    name: &'static str,
    keywords: &'static [&'static str],
    regex: &'static str,
    entropy: f64,
) -> Shape {
    Shape {
        id,
        name,
        keywords,
        regex,
        entropy,
    }
}

// A table reads best one shape to a line or two; rustfmt would spread each over seven.
#[rustfmt::skip]
const SHAPES: &[Shape] = &[
    shape("aws-access-key", "AWS access key", &["akia", "asia", "abia", "acca", "a3t"],
        r"\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b", 3.0),
    shape("aws-secret-key", "AWS secret access key", &["aws", "secret_access"],
        r#"(?i)aws_?secret_?(?:access_?)?key["']?\s*(?:[:=]|:=|=>)\s*["']?([A-Za-z0-9/+]{40})\b"#, 4.0),
    shape("github-token", "GitHub token", &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        r"\b(gh[pousr]_[A-Za-z0-9]{36,255})\b", 3.0),
    shape("github-fine-grained-token", "GitHub token", &["github_pat_"],
        r"\b(github_pat_[A-Za-z0-9_]{82})\b", 3.0),
    shape("gitlab-token", "GitLab token",
        &["glpat-", "glptt-", "gldt-", "glrt-", "glsoat-", "glft-", "glcbt-", "glimt-", "glagent-", "gloas-"],
        r"\b((?:glpat|glptt|gldt|glrt|glsoat|glft|glcbt|glimt|glagent|gloas)-[A-Za-z0-9_\-]{20,64})", 3.0),
    shape("slack-token", "Slack token", &["xox"],
        r"\b(xox[abposre]-[0-9A-Za-z\-]{10,250})", 3.0),
    shape("slack-webhook", "Slack webhook URL", &["hooks.slack.com"],
        r"hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9+/_\-]{20,100})", 3.0),
    shape("discord-webhook", "Discord webhook URL", &["discord"],
        r"discord(?:app)?\.com/api/webhooks/[0-9]{5,30}/([A-Za-z0-9_\-]{30,100})", 3.0),
    shape("telegram-bot-token", "Telegram bot token", &[":aa"],
        r"\b([0-9]{8,10}:AA[A-Za-z0-9_\-]{33})\b", 3.0),
    shape("stripe-key", "Stripe key", &["sk_", "rk_"],
        r"\b((?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,99})\b", 3.0),
    shape("stripe-webhook-secret", "Stripe webhook secret", &["whsec_"],
        r"\b(whsec_[A-Za-z0-9+/=]{32,})", 3.5),
    shape("google-api-key", "Google API key", &["aiza"],
        r"\b(AIza[A-Za-z0-9_\-]{35})\b", 3.0),
    shape("google-oauth-secret", "Google OAuth client secret", &["gocspx-"],
        r"\b(GOCSPX-[A-Za-z0-9_\-]{28})\b", 3.0),
    shape("openai-key", "OpenAI API key", &["t3blbkfj"],
        r"\b(sk-[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,})\b", 3.0),
    shape("openai-admin-key", "OpenAI API key", &["sk-admin-"],
        r"\b(sk-admin-[A-Za-z0-9_\-]{20,})", 3.0),
    shape("huggingface-token", "Hugging Face token", &["hf_", "api_org_"],
        r"\b((?:hf_|api_org_)[A-Za-z]{34})\b", 3.0),
    shape("npm-token", "npm token", &["npm_"], r"\b(npm_[A-Za-z0-9]{36})\b", 3.0),
    shape("pypi-token", "PyPI token", &["pypi-ageichlwas5vcmc"],
        r"\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,})", 3.0),
    shape("rubygems-key", "RubyGems API key", &["rubygems_"],
        r"\b(rubygems_[a-f0-9]{48})\b", 3.0),
    shape("docker-hub-token", "Docker Hub token", &["dckr_pat_", "dckr_oat_"],
        r"\b(dckr_(?:pat|oat)_[A-Za-z0-9_\-]{27,})", 3.0),
    shape("digitalocean-token", "DigitalOcean token", &["dop_v1_", "doo_v1_", "dor_v1_"],
        r"\b(do[opr]_v1_[a-f0-9]{64})\b", 3.0),
    shape("shopify-token", "Shopify token", &["shpat_", "shpca_", "shppa_", "shpss_"],
        r"\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b", 3.0),
    shape("sendgrid-key", "SendGrid API key", &["sg."],
        r"\b(SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})\b", 3.0),
    shape("mailgun-key", "Mailgun API key", &["mailgun"],
        r"(?i)mailgun.{0,40}\b(key-[a-f0-9]{32})\b", 3.0),
    shape("mailchimp-key", "Mailchimp API key", &["-us"],
        r"\b([a-f0-9]{32}-us[0-9]{1,2})\b", 3.0),
    shape("twilio-key", "Twilio API key", &["sk"], r"\b(SK[a-f0-9]{32})\b", 3.0),
    shape("postman-key", "Postman API key", &["pmak-"],
        r"\b(PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b", 3.0),
    shape("notion-token", "Notion token", &["ntn_", "secret_"],
        r"\b((?:ntn_[0-9]{11}[A-Za-z0-9]{35})|(?:secret_[A-Za-z0-9]{43}))\b", 3.5),
    shape("atlassian-token", "Atlassian API token", &["atatt3"],
        r"\b(ATATT3[A-Za-z0-9_\-=]{150,})", 3.0),
    shape("doppler-token", "Doppler token", &["dp.pt.", "dp.st.", "dp.sa."],
        r"\b(dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44})\b", 3.0),
    shape("databricks-token", "Databricks token", &["dapi"],
        r"\b(dapi[a-f0-9]{32}(?:-[0-9])?)\b", 3.0),
    shape("dropbox-token", "Dropbox token", &["sl."],
        r"\b(sl\.[A-Za-z0-9_\-]{130,})", 3.5),
    shape("vault-token", "HashiCorp Vault token", &["hvs.", "hvb."],
        r"\b((?:hvs|hvb)\.[A-Za-z0-9_\-]{90,})", 3.5),
    shape("terraform-cloud-token", "Terraform Cloud token", &["atlasv1"],
        r"\b([A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=\-]{60,70})\b", 3.5),
    shape("pulumi-token", "Pulumi token", &["pul-"], r"\b(pul-[a-f0-9]{40})\b", 3.0),
    shape("sentry-token", "Sentry token", &["sntrys_", "sntryu_"],
        r"\b((?:sntrys_eyJ[A-Za-z0-9+/=_\-]{50,})|(?:sntryu_[a-f0-9]{64}))", 3.0),
    shape("grafana-token", "Grafana token", &["glsa_", "glc_"],
        r"\b((?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})|(?:glc_[A-Za-z0-9+/]{32,}={0,2}))", 3.0),
    shape("new-relic-key", "New Relic key", &["nrak-", "nrii-"],
        r"\b((?:NRAK|NRII)-[A-Z0-9]{27,32})\b", 3.0),
    shape("azure-storage-key", "Azure storage account key", &["accountkey="],
        r"(?i)AccountKey=([A-Za-z0-9+/]{86}==)", 4.0),
    shape("azure-client-secret", "Azure AD client secret", &["q~"],
        r"(?:^|[^A-Za-z0-9_~.\-])([A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?:$|[^A-Za-z0-9_~.\-])", 3.0),
    shape("heroku-key", "Heroku API key", &["hrku-"],
        r"\b(HRKU-AA[A-Za-z0-9_\-]{58})\b", 3.0),
    shape("fly-token", "Fly.io token", &["fo1_", "flyv1 fm"],
        r"\b((?:fo1_[A-Za-z0-9_\-]{43})|(?:FlyV1 fm[0-9]+_[A-Za-z0-9+/=,_\-]{50,}))", 3.0),
    shape("planetscale-token", "PlanetScale token", &["pscale_"],
        r"\b(pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_=.\-]{32,64})", 3.0),
    shape("supabase-key", "Supabase key", &["sbp_", "sb_secret_"],
        r"\b((?:sbp_[a-f0-9]{40})|(?:sb_secret_[A-Za-z0-9_\-]{20,}))", 3.0),
    shape("cloudflare-origin-ca-key", "Cloudflare Origin CA key", &["v1.0-"],
        r"\b(v1\.0-[a-f0-9]{24}-[a-f0-9]{146})\b", 3.0),
    shape("square-token", "Square token", &["sq0atp-", "sq0csp-", "eaaa"],
        r"\b((?:sq0atp-[A-Za-z0-9_\-]{22})|(?:sq0csp-[A-Za-z0-9_\-]{43})|(?:EAAA[A-Za-z0-9_\-]{60}))\b", 3.0),
    shape("facebook-token", "Facebook access token", &["eaac", "eaam"],
        r"\b(EAA[MC][A-Za-z0-9]{100,})", 3.5),
    shape("perplexity-key", "Perplexity API key", &["pplx-"],
        r"\b(pplx-[A-Za-z0-9]{48})\b", 3.0),
    shape("groq-key", "Groq API key", &["gsk_"], r"\b(gsk_[A-Za-z0-9]{52})\b", 3.0),
    shape("xai-key", "xAI API key", &["xai-"], r"\b(xai-[A-Za-z0-9]{80})\b", 3.0),
    shape("replicate-token", "Replicate token", &["r8_"], r"\b(r8_[A-Za-z0-9]{37})\b", 3.0),
    shape("tavily-key", "Tavily API key", &["tvly-"],
        r"\b(tvly-(?:dev-|prod-)?[A-Za-z0-9]{32})\b", 3.0),
    shape("firecrawl-key", "Firecrawl API key", &["fc-"], r"\b(fc-[a-f0-9]{32})\b", 3.0),
    shape("buildkite-token", "Buildkite token", &["bkua_"],
        r"\b(bkua_[a-f0-9]{40})\b", 3.0),
    shape("circleci-token", "CircleCI token", &["ccipat_"],
        r"\b(CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40})\b", 3.0),
    shape("shippo-token", "Shippo token", &["shippo_"],
        r"\b(shippo_(?:live|test)_[a-f0-9]{40})\b", 3.0),
    shape("flutterwave-key", "Flutterwave key", &["flwseck"],
        r"\b(FLWSECK(?:_TEST)?-[a-h0-9]{32}-X)\b", 3.0),
    shape("age-secret-key", "age secret key", &["age-secret-key-1"],
        r"\b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b", 3.0),
];

/// File names (lower-cased suffixes) that are key stores whatever they hold: binary PKCS#12,
/// Java and KeePass stores, which no line-based check can see into.
const KEY_STORES: &[(&str, &str)] = &[
    (".p12", "pkcs12-file"),
    (".pfx", "pkcs12-file"),
    (".jks", "java-keystore"),
    (".keystore", "java-keystore"),
    (".kdbx", "keepass-database"),
];

/// One shape that matched: its name and the byte range of the secret in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The shape's id (`stripe-webhook-secret`).
    pub id: &'static str,
    /// What a person calls it ("Stripe webhook secret").
    pub name: &'static str,
    /// Byte range of the secret.
    pub secret: (usize, usize),
}

struct Table {
    compiled: Vec<OnceLock<Option<Regex>>>,
    /// Every shape's keywords, ASCII case-insensitive; `keyword_shapes[k]` the shapes keyword
    /// `k` opens.
    keywords: Option<aho_corasick::AhoCorasick>,
    keyword_shapes: Vec<Vec<usize>>,
}

fn compile(pattern: &str) -> Option<Regex> {
    // Bytes and ASCII classes: a token is ASCII, and Unicode tables would only slow it down.
    RegexBuilder::new(pattern).unicode(false).build().ok()
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut words: Vec<String> = Vec::new();
        let mut keyword_shapes: Vec<Vec<usize>> = Vec::new();
        for (i, s) in SHAPES.iter().enumerate() {
            for k in s.keywords {
                let k = k.to_ascii_lowercase();
                match words.iter().position(|w| *w == k) {
                    Some(j) => keyword_shapes[j].push(i),
                    None => {
                        words.push(k);
                        keyword_shapes.push(vec![i]);
                    }
                }
            }
        }
        // A contiguous NFA: a DFA of these keywords takes longer to build than a hook runs.
        let keywords = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
            .build(&words)
            .ok();
        Table {
            compiled: SHAPES.iter().map(|_| OnceLock::new()).collect(),
            keywords,
            keyword_shapes,
        }
    })
}

/// Shannon entropy in bits per byte.
pub fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for b in s {
        counts[*b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// The key-store kind `path` is by its name, if any (`pkcs12-file` for `cert.p12`).
pub fn key_store(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    KEY_STORES
        .iter()
        .find(|(suffix, _)| name.ends_with(suffix) && name.len() > suffix.len())
        .map(|(_, id)| *id)
}

/// Every token of a known shape in `text`, in no particular order.
pub fn scan(text: &str) -> Vec<Hit> {
    let t = table();
    let bytes = text.as_bytes();
    let mut wanted = vec![t.keywords.is_none(); SHAPES.len()];
    if let Some(ac) = &t.keywords {
        for m in ac.find_overlapping_iter(bytes) {
            for &i in &t.keyword_shapes[m.pattern().as_usize()] {
                wanted[i] = true;
            }
        }
    }
    let mut hits = Vec::new();
    for (i, shape) in SHAPES.iter().enumerate().filter(|(i, _)| wanted[*i]) {
        let Some(re) = t.compiled[i].get_or_init(|| compile(shape.regex)) else {
            continue;
        };
        for caps in re.captures_iter(bytes) {
            let Some(secret) = caps.get(1).or_else(|| caps.get(0)) else {
                continue;
            };
            if entropy(secret.as_bytes()) < shape.entropy {
                continue;
            }
            hits.push(Hit {
                id: shape.id,
                name: shape.name,
                secret: (secret.start(), secret.end()),
            });
        }
    }
    hits
}

/// The ids of shapes whose regex does not compile (the tests keep this empty).
pub fn broken() -> Vec<&'static str> {
    SHAPES
        .iter()
        .filter(|s| compile(s.regex).is_none())
        .map(|s| s.id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token built at run time: a literal token in the source would trip secret scanners.
    fn token(prefix: &str, tail: &str, n: usize) -> String {
        format!("{prefix}{}", &tail.repeat(n / tail.len() + 1)[..n])
    }

    #[test]
    fn every_shape_compiles_and_has_keywords() {
        assert_eq!(broken(), Vec::<&str>::new());
        assert!(SHAPES.iter().all(|s| !s.keywords.is_empty()));
        assert!(SHAPES
            .iter()
            .all(|s| s.keywords.iter().all(|k| *k == k.to_ascii_lowercase())));
    }

    #[test]
    fn finds_issuer_shapes() {
        let cases = [
            (
                "aws-access-key",
                format!("id = {}", token("AKIA", "QW3RT5YU7IOP2ASD", 16)),
            ),
            (
                "stripe-webhook-secret",
                token("whsec_", "a8F5kQ2zR7pX1mN4vB6c", 36),
            ),
            (
                "sendgrid-key",
                format!(
                    "{}.{}",
                    token("SG.", "a8F5kQ2zR7pX", 22),
                    token("", "Zr7pX1mN4vB6c9qT", 43)
                ),
            ),
            ("google-api-key", token("AIza", "Sy9a8F5kQ2zR7pX1mN4v", 35)),
            (
                "telegram-bot-token",
                format!("123456789:{}", token("AA", "F5kQ2zR7pX1mN4vB6c", 33)),
            ),
            (
                "digitalocean-token",
                token("dop_v1_", "a8f5c2e91b7d40f3", 64),
            ),
        ];
        for (id, text) in cases {
            let hits = scan(&format!("x {text} y\n"));
            assert!(hits.iter().any(|h| h.id == id), "{id}: {hits:?}");
        }
    }

    #[test]
    fn ordinary_text_and_placeholders_are_not_tokens() {
        for text in [
            "password = ${DB_PASSWORD}\n",
            "token: true\n",
            "commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n",
            "id 123e4567-e89b-12d3-a456-426614174000\n",
            &format!("id = {}\n", token("AKIA", "A", 16)),
            "see https://hooks.slack.com/services/ for details\n",
        ] {
            assert!(scan(text).is_empty(), "{text:?}: {:?}", scan(text));
        }
    }

    #[test]
    fn a_key_store_is_known_by_its_name() {
        assert_eq!(key_store("claude/skills/x/cert.p12"), Some("pkcs12-file"));
        assert_eq!(key_store("claude/skills/x/SKILL.md"), None);
        assert_eq!(key_store("claude/skills/.p12"), None);
    }
}
