//! `lab secrets encrypt`: an `ENC[NACL,...]` envelope that the stack's secretary can
//! decrypt, for an env value in a site file. Keys come from the running stack's secretary
//! (the default) or from key files, as `secretary encrypt` takes them.

use super::Outcome;
use super::stack::ProjectArgs;
use crate::marathon::secrets::{self, Key};
use anyhow::{Context, bail};
use std::io::Read;

/// Arguments of `lab secrets`.
#[derive(Debug, clap::Args)]
pub struct SecretsArgs {
    #[command(subcommand)]
    command: SecretsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum SecretsCommand {
    /// Encrypt a value for secretary; prints ENC[NACL,...] to put in a site file's env.
    Encrypt(EncryptArgs),
}

/// Arguments of `lab secrets encrypt`.
#[derive(Debug, clap::Args)]
pub struct EncryptArgs {
    #[command(flatten)]
    target: ProjectArgs,
    /// Use the keys of your running stack's secretary (the default without --key).
    #[arg(long, conflicts_with = "key")]
    stack: bool,
    /// The master public key: a key file or the key itself (base64).
    #[arg(long, value_name = "FILE")]
    key: Option<String>,
    /// The config private key that seals the envelope: a key file or the key itself
    /// (with --key; default ./keys/config-private-key.pem, as secretary).
    #[arg(long, value_name = "FILE", requires = "key")]
    config_key: Option<String>,
    /// The value to encrypt; `-` reads it from standard input, exactly as given.
    value: String,
}

/// Runs `lab secrets ...`.
pub async fn run(args: SecretsArgs) -> anyhow::Result<Outcome> {
    match args.command {
        SecretsCommand::Encrypt(args) => encrypt(args).await,
    }
}

async fn encrypt(args: EncryptArgs) -> anyhow::Result<Outcome> {
    let plaintext = if args.value == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).context("cannot read the value from standard input")?;
        buf
    } else {
        args.value.clone().into_bytes()
    };
    let (master, config, from) = match &args.key {
        Some(key) => {
            let master = secrets::load_key(key).map_err(|e| anyhow::anyhow!("--key: {e}"))?;
            let config_file = args.config_key.clone().unwrap_or_else(|| "./keys/config-private-key.pem".into());
            let config = secrets::load_key(&config_file).map_err(|e| anyhow::anyhow!("--config-key {config_file}: {e} (the config private key seals the envelope; pass --config-key)"))?;
            (master, config, "the given keys".to_owned())
        }
        None => {
            let project = args.target.project();
            let (master, config) = stack_keys(&project).await?;
            (master, config, format!("the secretary of stack {project}"))
        }
    };
    let envelope = secrets::encrypt(&plaintext, &master, &config).map_err(|e| anyhow::anyhow!(e))?;
    println!("{envelope}");
    eprintln!("Encrypted for {from} (master public key {}).", secrets::encode_key(&master));
    eprintln!("Use it as an env value in a site file, e.g. DATABASE_PASSWORD: \"{}...\";", &envelope[..envelope.len().min(20)]);
    eprintln!("the site needs `secretary.url` and this `secretary.master.publickey` (globals.yml) so lab injects the deploy keys.");
    Ok(Outcome::Success)
}

/// The master public key and config private key of the running stack's secretary, read
/// from the environment its container was started with.
async fn stack_keys(project: &str) -> anyhow::Result<(Key, Key)> {
    let engine = crate::stack::Engine::connect().await.context("cannot reach Docker to find your stack's secretary (or pass --key)")?;
    let environments = crate::stack::status::environments(&engine, project).await?;
    let lookup = |env: &[String], name: &str| env.iter().find_map(|e| e.strip_prefix(&format!("{name}=")).map(str::to_owned));
    let Some((service, env)) = environments.iter().find(|(_, env)| lookup(env, "MASTER_PRIVATE_KEY").is_some()) else {
        bail!("no running container of stack {project} holds a secretary master key (MASTER_PRIVATE_KEY): start the stack with `lab up`, or pass --key and --config-key");
    };
    let master_private = secrets::decode_key(&lookup(env, "MASTER_PRIVATE_KEY").unwrap_or_default()).map_err(|e| anyhow::anyhow!("the MASTER_PRIVATE_KEY of service {service}: {e}"))?;
    let Some(config) = lookup(env, "CONFIG_PRIVATE_KEY") else {
        bail!("service {service} has no CONFIG_PRIVATE_KEY, so lab cannot seal envelopes for it: pass --key and --config-key");
    };
    let config_private = secrets::decode_key(&config).map_err(|e| anyhow::anyhow!("the CONFIG_PRIVATE_KEY of service {service}: {e}"))?;
    Ok((secrets::public_key_of(&master_private), config_private))
}
