//! The ebpf family's flags, flattened into the agent's CLI: the family's switch, one
//! `--no-collector.ebpf.<name>` per row of [`PROGRAMS`] (made from the table, with the row's help) and
//! `--ebpf.once-window`. A flag of the family is one edit here; a program's flag is its row.

use std::sync::Arc;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use hostlens_collectors::flags::parse_duration;
use hostlens_collectors::Roots;

use crate::{EbpfConfig, PROGRAMS};

/// The family's flags as parsed.
#[derive(Debug, Clone)]
pub struct EbpfArgs {
    /// `--collector.ebpf` (the last of the pair wins).
    pub enable: bool,
    /// `--no-collector.ebpf`.
    pub disable: bool,
    /// The programs switched off with `--no-collector.ebpf.<name>`, in table order.
    pub disabled_programs: Vec<&'static str>,
    /// `--ebpf.once-window`: with `--once`, how long the programs count before the scrape.
    pub once_window: Duration,
}

const ENABLE: &str = "collector.ebpf";
const DISABLE: &str = "no-collector.ebpf";
const ONCE_WINDOW: &str = "ebpf.once-window";

fn program_flag(name: &str) -> String {
    format!("no-collector.ebpf.{name}")
}

impl EbpfArgs {
    /// The family's configuration over `roots`.
    pub fn config(&self, roots: Arc<Roots>) -> EbpfConfig {
        let mut cfg = EbpfConfig::new(roots);
        cfg.disabled = self
            .disabled_programs
            .iter()
            .map(|p| p.to_string())
            .collect();
        cfg
    }

    /// Whether `program` is switched off by its flag.
    pub fn program_disabled(&self, program: &str) -> bool {
        self.disabled_programs.contains(&program)
    }
}

impl Args for EbpfArgs {
    fn augment_args(cmd: Command) -> Command {
        let mut cmd = cmd
            .arg(
                Arg::new(ENABLE)
                    .long(ENABLE)
                    .action(ArgAction::SetTrue)
                    .overrides_with(DISABLE)
                    .help(
                        "Enable the ebpf family (ebpf_exporter's syscalls, biolatency, llcstat): on by \
                         default, off with --collector.disable-defaults unless given.",
                    ),
            )
            .arg(
                Arg::new(DISABLE)
                    .long(DISABLE)
                    .action(ArgAction::SetTrue)
                    .overrides_with(ENABLE)
                    .help("Disable the ebpf family (nothing is loaded into the kernel)."),
            );
        for p in PROGRAMS {
            let flag = program_flag(p.name);
            cmd = cmd.arg(
                Arg::new(flag.clone())
                    .long(flag)
                    .action(ArgAction::SetTrue)
                    .help(p.help),
            );
        }
        cmd.arg(
            Arg::new(ONCE_WINDOW)
                .long(ONCE_WINDOW)
                .default_value("1s")
                .value_parser(parse_duration)
                .help("With --once: how long the eBPF programs count between attaching and the scrape."),
        )
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for EbpfArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let flag = |id: &str| m.get_flag(id);
        Ok(EbpfArgs {
            enable: flag(ENABLE),
            disable: flag(DISABLE),
            disabled_programs: PROGRAMS
                .iter()
                .filter(|p| flag(&program_flag(p.name)))
                .map(|p| p.name)
                .collect(),
            once_window: m
                .get_one::<Duration>(ONCE_WINDOW)
                .copied()
                .unwrap_or(Duration::from_secs(1)),
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        ebpf: EbpfArgs,
    }

    fn parse(args: &[&str]) -> EbpfArgs {
        use clap::Parser;
        Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{e}"))
            .ebpf
    }

    #[test]
    fn one_flag_per_row_of_the_table() {
        let a = parse(&[]);
        assert!(a.disabled_programs.is_empty());
        assert_eq!(a.once_window, Duration::from_secs(1));
        for p in PROGRAMS {
            let a = parse(&[&format!("--no-collector.ebpf.{}", p.name)]);
            assert_eq!(a.disabled_programs, [p.name]);
            assert!(a.program_disabled(p.name));
            let cfg = a.config(Arc::new(Roots::default()));
            assert_eq!(cfg.disabled, [p.name.to_string()]);
        }
        let a = parse(&[
            "--no-collector.ebpf.llcstat",
            "--no-collector.ebpf.syscalls",
        ]);
        assert_eq!(a.disabled_programs, ["syscalls", "llcstat"]);
        let a = parse(&[
            "--no-collector.ebpf",
            "--collector.ebpf",
            "--ebpf.once-window=250ms",
        ]);
        assert!(a.enable && !a.disable);
        assert_eq!(a.once_window, Duration::from_millis(250));
        use clap::Parser;
        assert!(Cli::try_parse_from(["t", "--no-collector.ebpf.nosuch"]).is_err());
    }
}
