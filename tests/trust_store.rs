//! The platform's certificate store is read only for TLS, and at most once
//! per process (src/tls.rs): never for plain http to loopback; for TLS, the
//! bundle once, the certificate directories once and only when the bundle
//! cannot vouch for the server; no file opened twice (a hash link, a bundle
//! inside the directory), no certificate parsed twice (one in the bundle and
//! in the directory). For each rule of trust (`SSL_CERT_FILE`,
//! `SSL_CERT_DIR`, both, extra CA certificates with and without a store, the
//! compiled-in fallback, the default store) a scenario counts what the core
//! read (`ec3_gate::store_reads`) after each step: a plain-http status, a
//! TLS status, a second client's TLS wait, and `doctor`'s checks.
//!
//! The counts are the process's, and the store is read once per process, so
//! each scenario runs in a fresh process: this test binary run again with
//! `EC3_TRUST_CHILD` set, which runs the steps and prints one line per step.
//! The process-level counterpart for the binary (`--help`, usage errors,
//! `--ca-cert`, `EC3_CA_CERT`) is `tests/trust_files.rs`.
//!
//! Where the store is files: on macOS and Windows the operating system's
//! verifier reads it, and there is nothing of the store to count.

#[cfg(not(any(target_vendor = "apple", windows)))]
fn main() -> std::process::ExitCode {
    files::main()
}

#[cfg(any(target_vendor = "apple", windows))]
fn main() {}

#[cfg(not(any(target_vendor = "apple", windows)))]
mod files {

    use std::path::Path;
    use std::process::{Command, ExitCode};
    use std::time::Duration;

    use ec3_gate::{Cancel, Client, Config, Credentials, JobId, Timeout, WaitOptions};
    use ec3_sim::tls::Pki;
    use libtest_mimic::{Arguments, Failed, Trial};

    /// Set in the child: the steps run there.
    const CHILD: &str = "EC3_TRUST_CHILD";
    /// The plain-http simulator, the TLS one, and the extra CA value (if any).
    const HTTP_URL: &str = "EC3_TRUST_HTTP_URL";
    const HTTPS_URL: &str = "EC3_TRUST_HTTPS_URL";
    const CA_CERT: &str = "EC3_TRUST_CA_CERT";

    pub fn main() -> ExitCode {
        if std::env::var_os(CHILD).is_some() {
            return child();
        }
        let args = Arguments::from_args();
        let trials = SCENARIOS
            .iter()
            .map(|s| Trial::test(s.name, move || run(s)))
            .collect();
        libtest_mimic::run(&args, trials).exit_code()
    }

    /// The counts after one step: (loads, files opened, certificates parsed).
    type Reads = (usize, usize, usize);

    /// One rule of trust: where the store is, what the TLS step should find,
    /// and what the counts must be once the store has been read.
    struct Scenario {
        name: &'static str,
        /// SSL_CERT_FILE / SSL_CERT_DIR, made in the scenario's directory.
        file: Option<Bundle>,
        dir: bool,
        /// The simulator's CA given as an extra certificate: a path, or PEM text.
        extra: Option<Extra>,
        /// Whether the TLS steps succeed (the server's CA is trusted).
        trusted: bool,
        /// The counts once TLS was used; `None`: the machine's own store, whose
        /// size this test does not know (then: read once, and not again).
        reads: Option<Reads>,
        /// What `doctor` says about trust.
        doctor: &'static str,
    }

    #[derive(Clone, Copy)]
    enum Bundle {
        /// The simulator's CA and another.
        WithServerCa,
        /// Two other CAs (one of them also in the directory).
        Others,
        /// No certificate at all: a machine without a store.
        Empty,
    }

    #[derive(Clone, Copy)]
    enum Extra {
        Path,
        Pem,
    }

    /// The directory (`SSL_CERT_DIR`) of each scenario that has one: the
    /// simulator's CA under its name and a hash link to it, one of the bundle's
    /// other CAs again, and a link to the bundle itself.
    const SCENARIOS: &[Scenario] = &[
        Scenario {
            name: "ssl_cert_file_is_read_once_and_only_for_tls",
            file: Some(Bundle::WithServerCa),
            dir: false,
            extra: None,
            trusted: true,
            reads: Some((1, 1, 2)),
            doctor: "the platform's certificate store",
        },
        Scenario {
            name: "ssl_cert_dir_is_read_once_each_file_once",
            file: None,
            dir: true,
            extra: None,
            trusted: true,
            // ca.pem and other-1.pem; the hash link is the same file.
            reads: Some((1, 2, 2)),
            doctor: "the platform's certificate store",
        },
        Scenario {
            name: "bundle_that_vouches_leaves_the_directory_unread",
            file: Some(Bundle::WithServerCa),
            dir: true,
            extra: None,
            trusted: true,
            reads: Some((1, 1, 2)),
            doctor: "the platform's certificate store",
        },
        Scenario {
            name: "directory_read_once_when_needed_no_certificate_parsed_twice",
            file: Some(Bundle::Others),
            dir: true,
            extra: None,
            trusted: true,
            // The bundle, then ca.pem and other-1.pem (the links are files
            // already read); 3 distinct certificates: other-1 is in both.
            reads: Some((2, 3, 3)),
            doctor: "the platform's certificate store",
        },
        Scenario {
            name: "extra_ca_path_with_a_store_reads_the_bundle_once",
            file: Some(Bundle::Others),
            dir: true,
            extra: Some(Extra::Path),
            trusted: true,
            reads: Some((1, 1, 2)),
            doctor: "the platform's certificates and 1 extra CA certificate(s)",
        },
        Scenario {
            name: "extra_ca_pem_without_a_store",
            file: Some(Bundle::Empty),
            dir: false,
            extra: Some(Extra::Pem),
            trusted: true,
            reads: Some((1, 1, 0)),
            doctor: "no system store found: only the 1 extra CA certificate(s)",
        },
        Scenario {
            name: "compiled_in_roots_without_a_store",
            file: Some(Bundle::Empty),
            dir: false,
            extra: None,
            trusted: false,
            reads: Some((1, 1, 0)),
            doctor: "no system store found: the compiled-in Mozilla roots",
        },
        Scenario {
            name: "default_store_is_read_once_and_only_for_tls",
            file: None,
            dir: false,
            extra: Some(Extra::Path),
            trusted: true,
            reads: None,
            doctor: "extra CA certificate(s)",
        },
    ];

    /// Sets up the scenario's store and servers, runs the child, checks its
    /// counts.
    fn run(s: &Scenario) -> Result<(), Failed> {
        let pki = Pki::new(&["localhost"]);
        let others = [Pki::new(&["localhost"]), Pki::new(&["localhost"])];
        let tls = ec3_sim::Sim::start_tls(ec3_sim::Options::default(), &pki)?;
        let plain = ec3_sim::Sim::start(ec3_sim::Options::default())?;
        let store = tempfile::tempdir()?;
        let bundle = store.path().join("bundle.pem");
        let dir = store.path().join("certs");

        let mut child = Command::new(std::env::current_exe()?);
        child
            .env_clear()
            .env(CHILD, "1")
            .env(HTTP_URL, plain.url())
            .env(HTTPS_URL, tls.url());
        if let Some(kind) = s.file {
            let pem = match kind {
                Bundle::WithServerCa => format!("{}{}", pki.ca_pem, others[0].ca_pem),
                Bundle::Others => format!("{}{}", others[0].ca_pem, others[1].ca_pem),
                Bundle::Empty => String::new(),
            };
            std::fs::write(&bundle, pem)?;
            child.env("SSL_CERT_FILE", &bundle);
        }
        if s.dir {
            make_dir(&dir, &pki, &others[0], &bundle)?;
            child.env("SSL_CERT_DIR", &dir);
        }
        match s.extra {
            Some(Extra::Path) => child.env(CA_CERT, &pki.ca_file),
            Some(Extra::Pem) => child.env(CA_CERT, &pki.ca_pem),
            None => &mut child,
        };
        let out = child.output()?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(format!("the child failed: {stderr}\n{stdout}").into());
        }
        let steps = Steps::parse(&stdout);
        let none = (0, 0, 0);
        check(
            steps.reads("start") == none,
            "nothing read at start",
            &stdout,
        )?;
        check(
            steps.reads("http") == none,
            "plain http reads nothing",
            &stdout,
        )?;
        check(
            steps.outcome("http") == "ok",
            "the plain-http status succeeds",
            &stdout,
        )?;
        let tls_outcome = if s.trusted { "ok" } else { "network" };
        check(
            steps.outcome("tls") == tls_outcome,
            "the TLS status's outcome",
            &stdout,
        )?;
        let first = steps.reads("tls");
        match s.reads {
            Some(want) => check(first == want, &format!("TLS reads {want:?}"), &stdout)?,
            None => check(
                (1..=2).contains(&first.0) && first.1 >= 1,
                "the default store read (bundle, maybe directories)",
                &stdout,
            )?,
        }
        for step in ["second", "doctor"] {
            check(
                steps.reads(step) == first,
                &format!("nothing read again at step {step}"),
                &stdout,
            )?;
        }
        check(
            steps.outcome("second") == tls_outcome,
            "the second client's wait",
            &stdout,
        )?;
        check(
            steps.outcome("doctor").contains(s.doctor),
            &format!("doctor says '{}'", s.doctor),
            &stdout,
        )?;
        Ok(())
    }

    /// The scenario's certificate directory: `ca.pem` and its hash link,
    /// `other-1.pem` (also in the bundle), and a link to the bundle itself.
    fn make_dir(dir: &Path, pki: &Pki, other: &Pki, bundle: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::symlink;
        std::fs::create_dir(dir)?;
        std::fs::write(dir.join("ca.pem"), &pki.ca_pem)?;
        symlink("ca.pem", dir.join("1a2b3c4d.0"))?;
        std::fs::write(dir.join("other-1.pem"), &other.ca_pem)?;
        symlink(bundle, dir.join("ca-certificates.crt"))?;
        Ok(())
    }

    fn check(ok: bool, what: &str, stdout: &str) -> Result<(), Failed> {
        if ok {
            Ok(())
        } else {
            Err(format!("expected: {what}; the child's steps:\n{stdout}").into())
        }
    }

    /// The child's lines: `step loads files parsed outcome…`.
    struct Steps(Vec<(String, Reads, String)>);

    impl Steps {
        fn parse(stdout: &str) -> Self {
            Self(
                stdout
                    .lines()
                    .filter_map(|line| {
                        let mut f = line.splitn(5, '\t');
                        let step = f.next()?.to_owned();
                        let n = |x: Option<&str>| x.and_then(|v| v.parse().ok());
                        let reads = (n(f.next())?, n(f.next())?, n(f.next())?);
                        Some((step, reads, f.next().unwrap_or_default().to_owned()))
                    })
                    .collect(),
            )
        }

        fn find(&self, step: &str) -> &(String, Reads, String) {
            self.0
                .iter()
                .find(|(s, ..)| s == step)
                .unwrap_or_else(|| panic!("no step {step} in the child's output"))
        }

        fn reads(&self, step: &str) -> Reads {
            self.find(step).1
        }

        fn outcome(&self, step: &str) -> &str {
            &self.find(step).2
        }
    }

    /// The child: the steps, each followed by the counts so far.
    fn child() -> ExitCode {
        let var = |name: &str| std::env::var(name).ok();
        let report = |step: &str, outcome: &str| {
            let r = ec3_gate::store_reads();
            println!(
                "{step}\t{}\t{}\t{}\t{outcome}",
                r.loads, r.files_opened, r.certificates_parsed
            );
        };
        let client = |url: &str| {
            let mut config = Config::new(Credentials::access_token("trust-token").unwrap())
                .api_url(url)
                .authority(url);
            if let Some(ca) = var(CA_CERT) {
                config = config.ca_cert(ca);
            }
            Client::new(config).unwrap()
        };
        let outcome = |r: Result<ec3_gate::Job, ec3_gate::Error>| match r {
            Ok(_) => "ok".to_owned(),
            Err(ec3_gate::Error::Network(_)) => "network".to_owned(),
            Err(e) => format!("error: {e}"),
        };
        let job = JobId::new("ok-trust").unwrap();
        let timeout = Timeout::new(Duration::from_secs(10)).unwrap();
        let cancel = Cancel::new();
        report("start", "");

        let http = client(&var(HTTP_URL).unwrap());
        report(
            "http",
            &outcome(http.job_status(&job, timeout, &cancel, &mut ())),
        );

        let https = var(HTTPS_URL).unwrap();
        let first = client(&https);
        report(
            "tls",
            &outcome(first.job_status(&job, timeout, &cancel, &mut ())),
        );

        // A second client (its own agent and TLS settings): the store is not
        // read again; a wait polls over one connection.
        let second = client(&https);
        let options = WaitOptions::new(Duration::from_secs(10), Duration::from_millis(10)).unwrap();
        let waited = second.wait(
            &JobId::new("ok-trust-2").unwrap(),
            &options,
            &cancel,
            &mut (),
        );
        report("second", &outcome(waited));

        let checks = second.check(timeout, &cancel);
        let trust = checks
            .iter()
            .find(|c| c.step == "trust")
            .and_then(|c| c.result.as_ref().ok().cloned())
            .unwrap_or_default();
        report("doctor", &trust);
        ExitCode::SUCCESS
    }
}
