//! Statelessness: several replicas of the image answer every golden case identically, to the
//! byte, and a replica that restarts answers as it did before.

use std::time::{Duration, Instant};

use server::contract::fixtures::GoldenFile;

use crate::checks::{Passed, Verdict, ensure, why};
use crate::client::Client;
use crate::container::{self, Launch, Running};
use crate::rows::Schema;

/// The raw answers of one replica to every golden case, through both APIs.
fn answers(client: &Client, schema: &Schema, golden: &GoldenFile) -> Result<Vec<String>, String> {
    let mut out = vec![];
    for case in &golden.cases {
        let seed = client.predict(&case.instances).map_err(why)?;
        ensure!(
            seed.status == 200,
            "{}: /predict answered {}",
            case.name,
            seed.status
        );
        let v2 = client
            .infer(&golden.model, &case.instances, schema, Some(&case.name))
            .map_err(why)?;
        ensure!(v2.status == 200, "{}: V2 answered {}", case.name, v2.status);
        out.push(seed.body);
        out.push(v2.body);
    }
    Ok(out)
}

/// Starts `replicas` containers with `launch`, compares their answers, restarts one, compares
/// again.
pub fn stateless(
    reference: &str,
    launch: &Launch,
    schema: &Schema,
    golden: &GoldenFile,
    replicas: usize,
) -> Verdict {
    ensure!(replicas >= 2, "statelessness needs at least two replicas");
    let running: Vec<Running> = (0..replicas)
        .map(|_| container::start(reference, launch))
        .collect::<Result<_, _>>()
        .map_err(why)?;
    let first = answers(&running[0].client, schema, golden)?;
    for (i, replica) in running.iter().enumerate().skip(1) {
        ensure!(
            answers(&replica.client, schema, golden)? == first,
            "replica {i} answers differently from replica 0"
        );
    }

    let restarted = &running[replicas - 1];
    restarted.container.stop().map_err(why)?;
    restarted.container.start().map_err(why)?;
    let client = match launch.host_port {
        Some(_) => restarted.client.clone(),
        None => container::client_for(&restarted.container, launch.profile.port).map_err(why)?,
    };
    container::wait_ready(
        &client,
        &launch.profile.ready_path,
        Instant::now(),
        Duration::from_secs(30),
    )?;
    ensure!(
        answers(&client, schema, golden)? == first,
        "after a restart, replica {} answers differently",
        replicas - 1
    );
    Ok(Passed::new(format!(
        "{replicas} replicas give byte-identical answers to {} golden cases through both APIs, also after one restarts",
        golden.cases.len()
    )))
}
