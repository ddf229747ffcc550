//! `ordo spid …`: the service provider's keys and metadata from the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::saml;
use crate::config::Config;

#[derive(Subcommand)]
pub enum SpidCommand {
    /// Make the service provider's RSA key and self-signed certificate as Avviso SPID n. 29 v3 wants
    /// them (subject from [order] and [spid]: ipa_code or vat_number, locality, entity_id). Refuses
    /// to overwrite an existing key.
    Keygen {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        cert: PathBuf,
        /// Validity in days.
        #[arg(long, default_value_t = 730)]
        days: u32,
    },
    /// Print the signed SP metadata (what /spid/metadata serves), to send to AgID.
    Metadata,
}

pub fn run(command: SpidCommand, config: &Config) -> anyhow::Result<ExitCode> {
    match command {
        SpidCommand::Keygen { key, cert, days } => {
            let entity_id = saml::entity_id(config);
            saml::keygen::generate(config, &entity_id, &key, &cert, days)?;
            println!(
                "key {} and certificate {} written for {entity_id}",
                key.display(),
                cert.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        SpidCommand::Metadata => {
            let sp = saml::Sp::load(config)?.context("set spid.enabled = true (and its keys) first")?;
            println!("{}", saml::messages::metadata(&sp, config)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
