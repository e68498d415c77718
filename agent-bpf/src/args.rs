//! The ebpf family's flags, flattened into the agent's CLI: a flag of the family is one field of
//! [`EbpfArgs`]; a program's `--no-collector.ebpf.<name>` is made from its row of [`PROGRAMS`], with the
//! row's help ([`ProgramFlags`]).

use std::sync::Arc;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use hostlens_collectors::flags::parse_duration;
use hostlens_collectors::Roots;

use crate::{EbpfConfig, PROGRAMS};

#[derive(Debug, Clone, Args)]
pub struct EbpfArgs {
    /// Enable the ebpf family (ebpf_exporter's syscalls, biolatency, llcstat): on by default, off with
    /// --collector.disable-defaults unless given.
    #[arg(long = "collector.ebpf", overrides_with = "no_ebpf")]
    pub ebpf: bool,
    /// Disable the ebpf family (nothing is loaded into the kernel).
    #[arg(long = "no-collector.ebpf", overrides_with = "ebpf")]
    pub no_ebpf: bool,
    /// With --once: how long the eBPF programs count between attaching and the scrape.
    #[arg(long = "ebpf.once-window", default_value = "1s", value_parser = parse_duration)]
    pub once_window: Duration,
    /// `--no-collector.ebpf.<name>`, one per program.
    #[command(flatten)]
    pub programs: ProgramFlags,
}

impl EbpfArgs {
    /// The family's configuration over `roots`.
    pub fn config(&self, roots: Arc<Roots>) -> EbpfConfig {
        let mut cfg = EbpfConfig::new(roots);
        cfg.disabled = self
            .programs
            .disabled
            .iter()
            .map(|p| p.to_string())
            .collect();
        cfg
    }

    /// Whether `program` is switched off by its flag.
    pub fn program_disabled(&self, program: &str) -> bool {
        self.programs.disabled.contains(&program)
    }
}

/// `--no-collector.ebpf.<name>` for every row of the table.
#[derive(Debug, Clone, Default)]
pub struct ProgramFlags {
    /// The programs switched off, in table order.
    pub disabled: Vec<&'static str>,
}

fn program_flag(name: &str) -> String {
    format!("no-collector.ebpf.{name}")
}

impl Args for ProgramFlags {
    fn augment_args(mut cmd: Command) -> Command {
        for p in PROGRAMS {
            let flag = program_flag(p.name);
            cmd = cmd.arg(
                Arg::new(flag.clone())
                    .long(flag)
                    .action(ArgAction::SetTrue)
                    .help(p.help),
            );
        }
        cmd
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for ProgramFlags {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(ProgramFlags {
            disabled: PROGRAMS
                .iter()
                .filter(|p| m.get_flag(&program_flag(p.name)))
                .map(|p| p.name)
                .collect(),
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
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        ebpf: EbpfArgs,
    }

    fn parse(args: &[&str]) -> EbpfArgs {
        Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{e}"))
            .ebpf
    }

    #[test]
    fn one_flag_per_row_of_the_table() {
        let a = parse(&[]);
        assert!(a.programs.disabled.is_empty());
        assert_eq!(a.once_window, Duration::from_secs(1));
        for p in PROGRAMS {
            let a = parse(&[&format!("--no-collector.ebpf.{}", p.name)]);
            assert_eq!(a.programs.disabled, [p.name]);
            assert!(a.program_disabled(p.name));
            let cfg = a.config(Arc::new(Roots::default()));
            assert_eq!(cfg.disabled, [p.name.to_string()]);
        }
        let a = parse(&[
            "--no-collector.ebpf.llcstat",
            "--no-collector.ebpf.syscalls",
        ]);
        assert_eq!(a.programs.disabled, ["syscalls", "llcstat"]);
        let a = parse(&[
            "--no-collector.ebpf",
            "--collector.ebpf",
            "--ebpf.once-window=250ms",
        ]);
        assert!(a.ebpf && !a.no_ebpf);
        assert_eq!(a.once_window, Duration::from_millis(250));
        assert!(Cli::try_parse_from(["t", "--no-collector.ebpf.nosuch"]).is_err());
        // Each row's flag carries the row's help (its first words; clap rewraps the rest).
        let help = Cli::command().render_long_help().to_string();
        for p in PROGRAMS {
            assert!(
                help.contains(&format!("--no-collector.ebpf.{}", p.name)),
                "{help}"
            );
            let start: String = p
                .help
                .split_whitespace()
                .take(5)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(help.contains(&start), "{start:?} not in {help}");
        }
    }
}
